package verifier

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// hugePage is the size of a transparent huge page on linux/amd64 and
// arm64 (with 4 KiB base pages).
const hugePage = 2 << 20

// adviseHuge asks the kernel to back the n bytes at p with transparent
// huge pages, now (MADV_COLLAPSE, Linux 6.1+) and on later faults
// (MADV_HUGEPAGE, needed when THP is set to "madvise"). A random lookup in
// a table of tens of megabytes then misses the TLB much less: one 2 MiB
// entry covers what 512 small-page entries would, and a miss walks one
// level less of the page tables.
//
// The range is rounded out to whole huge pages, which may take in the
// neighbouring Go heap: both advices keep memory contents, so that is
// safe (khugepaged does the same to any process). The memory stays the
// Go heap's, freed by the garbage collector; the advice outlives the
// table, so that heap range goes on getting huge pages, as all memory
// does with THP set to "always". Errors (THP disabled, an
// older kernel) leave small pages: the advice is only a speed-up.
func adviseHuge(p unsafe.Pointer, n uintptr) {
	start := uintptr(p) &^ (hugePage - 1)
	end := (uintptr(p) + n + hugePage - 1) &^ (hugePage - 1)
	for _, advice := range []uintptr{unix.MADV_HUGEPAGE, unix.MADV_COLLAPSE} {
		// A raw call: the range spans more than one Go object, so it is
		// not made into a slice.
		unix.Syscall(unix.SYS_MADVISE, start, end-start, advice) //nolint:errcheck // advice only
	}
}
