package faults_test

import (
	"sync"
	"testing"
	"time"

	"github.com/sessiond/sessiond/faults"
)

// TestClock: the jumpable clock reads the real time plus its offset, jumps
// add up, Restore returns to the real time, and concurrent jumps and reads
// lose nothing (run with -race).
func TestClock(t *testing.T) {
	var c faults.Clock
	within := func(what string, got time.Time, off time.Duration) {
		t.Helper()
		// Bracket the reading with real readings: no timing assumption.
		if lo, hi := time.Now().Add(off-time.Minute), time.Now().Add(off+time.Minute); got.Before(lo) || got.After(hi) {
			t.Errorf("%s: %v, want real time %+v", what, got, off)
		}
	}
	before := time.Now()
	now := c.Now()
	if now.Before(before) || now.After(time.Now()) {
		t.Errorf("zero clock %v is not the real time", now)
	}
	if got := c.Jump(-10 * time.Minute); got != -10*time.Minute {
		t.Errorf("Jump(-10m) = %v", got)
	}
	within("after jumping back", c.Now(), -10*time.Minute)
	if got := c.Jump(25 * time.Minute); got != 15*time.Minute {
		t.Errorf("Jump(+25m) after -10m = %v, want 15m", got)
	}
	within("after jumping forward", c.Now(), 15*time.Minute)
	if d := c.Now().Sub(before); d < 15*time.Minute {
		t.Errorf("a duration across the jump is %v, want at least the jump", d)
	}
	c.Restore()
	if c.Offset() != 0 {
		t.Errorf("offset after Restore = %v", c.Offset())
	}

	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			for range 1000 {
				c.Jump(time.Duration(i+1) * time.Millisecond)
				_ = c.Now()
			}
		})
	}
	wg.Wait()
	if got, want := c.Offset(), 36*1000*time.Millisecond; got != want {
		t.Errorf("offset after concurrent jumps = %v, want %v", got, want)
	}
}
