package verifier

import (
	"syscall"
	"testing"
	"time"
)

// cpuClock measures the process's CPU time (user and system) across a
// benchmark loop: on a shared, loaded machine the wall-clock ns/op counts
// the time other processes held the cores, the CPU time does not.
type cpuClock struct{ start time.Duration }

func cpuNow() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func startCPU() cpuClock { return cpuClock{start: cpuNow()} }

// report adds cpu-ns/op, the CPU time per iteration over all cores (after
// the loop, b.N is the number of iterations that ran).
func (c cpuClock) report(b *testing.B) {
	if b.N > 0 {
		b.ReportMetric(float64(cpuNow()-c.start)/float64(b.N), "cpu-ns/op")
	}
}
