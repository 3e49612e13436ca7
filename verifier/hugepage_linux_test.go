package verifier

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"os"
	"strings"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"
)

// TestTableAdvisesHugePages: a table of more than a huge page sets the
// huge page advice on its memory (VmFlags "hg" in /proc/self/smaps).
// Whether the kernel then finds huge pages to give depends on the
// machine, so only the advice is checked here; BenchmarkCheck reports
// the share of the table they back (huge-%).
func TestTableAdvisesHugePages(t *testing.T) {
	if _, err := os.Stat("/sys/kernel/mm/transparent_hugepage/enabled"); err != nil {
		t.Skip("kernel without transparent huge pages")
	}
	tb := newTable(1<<20, false, [4]uint64{})
	p := uintptr(unsafe.Pointer(&tb.slots[0]))
	n := uintptr(len(tb.slots)) * unsafe.Sizeof(slot{})
	for _, at := range []uintptr{p, p + n/2, p + n - 1} {
		flags, err := vmFlags(at)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(" "+flags+" ", " hg ") {
			t.Errorf("table memory at +%d: VmFlags %q, want hg", at-p, flags)
		}
	}
}

// vmFlags returns the VmFlags line of the mapping holding addr.
func vmFlags(addr uintptr) (string, error) {
	f, err := os.Open("/proc/self/smaps")
	if err != nil {
		return "", err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	in := false
	for sc.Scan() {
		line := sc.Text()
		var lo, hi uintptr
		if n, _ := fmt.Sscanf(line, "%x-%x ", &lo, &hi); n == 2 {
			in = lo <= addr && addr < hi
		} else if rest, ok := strings.CutPrefix(line, "VmFlags:"); ok && in {
			return strings.TrimSpace(rest), nil
		}
	}
	return "", fmt.Errorf("no mapping holds %#x", addr)
}

// hugeShare returns the share of the 4 KiB pages in the n bytes at p
// that are part of a transparent huge page, read from /proc/self/pagemap
// and /proc/kpageflags (root only; ok is false otherwise).
func hugeShare(p unsafe.Pointer, n uintptr) (share float64, ok bool) {
	pagemap, err := os.Open("/proc/self/pagemap")
	if err != nil {
		return 0, false
	}
	defer pagemap.Close()
	kflags, err := os.Open("/proc/kpageflags")
	if err != nil {
		return 0, false
	}
	defer kflags.Close()
	const (
		page    = 4096
		present = 1 << 63
		pfnMask = 1<<55 - 1
		kpfTHP  = 1 << 22
	)
	first, last := uintptr(p)/page, (uintptr(p)+n-1)/page
	var buf [8]byte
	huge, pages := 0, 0
	for pg := first; pg <= last; pg++ {
		if _, err := pagemap.ReadAt(buf[:], int64(pg*8)); err != nil {
			return 0, false
		}
		e := binary.LittleEndian.Uint64(buf[:])
		pages++
		if e&present == 0 {
			continue
		}
		pfn := e & pfnMask
		if pfn == 0 {
			return 0, false // PFNs hidden: not root
		}
		if _, err := kflags.ReadAt(buf[:], int64(pfn*8)); err != nil {
			return 0, false
		}
		if binary.LittleEndian.Uint64(buf[:])&kpfTHP != 0 {
			huge++
		}
	}
	return float64(huge) / float64(pages), true
}

// adviseSmall asks for small pages on the whole huge pages inside the n
// bytes at p (MADV_NOHUGEPAGE), for a yardstick that must not get huge
// pages from a neighbour's advice.
func adviseSmall(p unsafe.Pointer, n uintptr) {
	start := (uintptr(p) + hugePage - 1) &^ (hugePage - 1)
	end := (uintptr(p) + n) &^ (hugePage - 1)
	if end > start {
		unix.Syscall(unix.SYS_MADVISE, start, end-start, unix.MADV_NOHUGEPAGE) //nolint:errcheck // advice only
	}
}
