package bench

import (
	"strings"
	"testing"
	"time"
)

// TestParseProcStat: busy ticks are user, nice, system, irq and softirq;
// idle, iowait (waiting for the disk, as a commit's flush does) and steal
// (another guest on the core) are not; cores are the cpuN lines.
func TestParseProcStat(t *testing.T) {
	const stat = `cpu  100 20 30 400 50 6 7 80 0 0
cpu0 50 10 15 200 25 3 4 40 0 0
cpu1 50 10 15 200 25 3 3 40 0 0
intr 12345
ctxt 678
`
	busy, all, cores, ok := parseProcStat(strings.NewReader(stat))
	if !ok || busy != 100+20+30+6+7 || all != 100+20+30+400+50+6+7+80 || cores != 2 {
		t.Errorf("parseProcStat = busy %d, all %d, cores %d, ok %v; want 163, 693, 2, true", busy, all, cores, ok)
	}
	if _, _, _, ok := parseProcStat(strings.NewReader("intr 1\n")); ok {
		t.Error("a stat without a cpu line parsed")
	}
}

// TestCPUShare: the busy share and the CPU per operation follow from busy
// time over the cores' wall time.
func TestCPUShare(t *testing.T) {
	c := CPU{Known: true, Cores: 2, Busy: 3 * time.Second, Wall: 2 * time.Second}
	if got := c.Share(); got != 0.75 {
		t.Errorf("Share = %v, want 0.75", got)
	}
	if got := c.PerOp(1000); got != 3*time.Millisecond {
		t.Errorf("PerOp = %v, want 3ms", got)
	}
	if (CPU{}).Share() != 0 || (CPU{}).PerOp(10) != 0 {
		t.Error("an unknown CPU reports figures")
	}
}
