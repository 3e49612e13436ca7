package verifier

import (
	"sync"
	"testing"
)

// TestCounter: adds from many goroutines, spread over stripes, all count.
func TestCounter(t *testing.T) {
	var c counter
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 10_000 {
				c.Add()
			}
		})
	}
	wg.Wait()
	if got := c.Load(); got != 80_000 {
		t.Fatalf("Load = %d, want 80000", got)
	}
	used := 0
	for i := range c.stripes {
		if c.stripes[i].n.Load() > 0 {
			used++
		}
	}
	if used < 2 {
		t.Errorf("adds went to %d stripe(s), want them spread", used)
	}
}
