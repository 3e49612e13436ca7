package storetest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/sessiond/sessiond/eventstore"
	"github.com/sessiond/sessiond/eventstore/consumer"
)

// testCheckpoints: checkpoints are per name and only move forward.
func testCheckpoints(t *testing.T, h Harness) {
	s := h.Store
	if pos, err := s.LoadCheckpoint(ctx(t), "relay"); err != nil || pos != 0 {
		t.Fatalf("unknown checkpoint = %d, %v; want 0, nil", pos, err)
	}
	for _, p := range []int64{5, 9} {
		if err := s.SaveCheckpoint(ctx(t), "relay", p); err != nil {
			t.Fatal(err)
		}
	}
	if pos, err := s.LoadCheckpoint(ctx(t), "relay"); err != nil || pos != 9 {
		t.Errorf("checkpoint = %d, %v; want 9", pos, err)
	}
	// An old relay leader that writes late never moves it back.
	if err := s.SaveCheckpoint(ctx(t), "relay", 5); err != nil {
		t.Fatal(err)
	}
	if pos, err := s.LoadCheckpoint(ctx(t), "relay"); err != nil || pos != 9 {
		t.Errorf("checkpoint = %d, %v after a late save of 5; want 9 (checkpoints only move forward)", pos, err)
	}
	if pos, _ := s.LoadCheckpoint(ctx(t), "other"); pos != 0 {
		t.Errorf("checkpoints leak between names: other = %d", pos)
	}
}

// collector is a Handler that records what it was given.
type collector struct {
	mu   sync.Mutex
	seen []int64
	fail func(pos int64) bool // fail before handling pos
}

func (c *collector) handle(_ context.Context, evs []eventstore.Recorded) (int64, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	var last int64
	for _, e := range evs {
		if c.fail != nil && c.fail(e.Position) {
			return last, errors.New("injected failure")
		}
		c.seen = append(c.seen, e.Position)
		last = e.Position
	}
	return last, nil
}

func (c *collector) positions() []int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]int64(nil), c.seen...)
}

func startRunner(t *testing.T, s Store, c *collector, poll time.Duration) (*consumer.Runner, func()) {
	t.Helper()
	r := &consumer.Runner{Name: "test", Source: s, Handle: c.handle, BatchSize: 7, Poll: poll, Backoff: 10 * time.Millisecond,
		Logger: slog.New(slog.DiscardHandler)}
	runCtx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); r.Run(runCtx) }()
	stop := func() { cancel(); <-done }
	t.Cleanup(stop)
	return r, stop
}

func wantSeen(t *testing.T, c *collector, n int64) {
	t.Helper()
	checkFor(t, 10*time.Second, 5*time.Millisecond, func() error {
		got := c.positions()
		if int64(len(got)) < n {
			return fmt.Errorf("handled %d of %d", len(got), n)
		}
		for i, p := range got {
			if p != int64(i+1) {
				return fmt.Errorf("handled %v: not each position once, in order", got)
			}
		}
		return nil
	})
}

// testRunner: the runner is woken by commits (its poll is an hour), keeps
// its checkpoint, and resumes from it after a restart.
func testRunner(t *testing.T, h Harness) {
	s := h.Store
	for i := range 10 {
		mustAppend(t, s, one(fmt.Sprintf("r-%d", i), 0, ev("T", nil)))
	}
	c := &collector{}
	r, stop := startRunner(t, s, c, time.Hour)
	wantSeen(t, c, 10)
	mustAppend(t, s, one("r-late", 0, ev("T", nil)))
	wantSeen(t, c, 11)
	checkFor(t, 10*time.Second, 5*time.Millisecond, func() error {
		if p := r.Position(); p != 11 {
			return fmt.Errorf("runner position %d", p)
		}
		return nil
	})
	stop()
	if pos, _ := s.LoadCheckpoint(ctx(t), "test"); pos != 11 {
		t.Fatalf("checkpoint = %d after stop, want 11", pos)
	}
	mustAppend(t, s, one("r-after", 0, ev("T", nil)))
	c2 := &collector{}
	startRunner(t, s, c2, time.Hour)
	checkFor(t, 10*time.Second, 5*time.Millisecond, func() error {
		if got := c2.positions(); len(got) != 1 || got[0] != 12 {
			return fmt.Errorf("restarted runner handled %v, want [12]", got)
		}
		return nil
	})
}

// testRunnerWake: a commit by another process wakes no runner here; Wake
// makes a runner polling once an hour read at once, and CaughtUpAt moves
// past the commit.
func testRunnerWake(t *testing.T, h Harness) {
	c := &collector{}
	r, _ := startRunner(t, h.Store, c, time.Hour)
	mustAppend(t, h.Store, one("w-0", 0, ev("T", nil)))
	wantSeen(t, c, 1)
	before := time.Now()
	mustAppend(t, h.Second, one("w-1", 0, ev("T", nil)))
	r.Wake()
	wantSeen(t, c, 2)
	// The read that found w-1 and nothing after it started after the append.
	checkFor(t, 10*time.Second, 5*time.Millisecond, func() error {
		if at := r.CaughtUpAt(); !at.After(before) {
			return fmt.Errorf("CaughtUpAt %v, want after %v", at, before)
		}
		return nil
	})
}

// testRunnerRetry: a handler failure never advances the checkpoint past an
// unhandled event; the runner retries and every event is handled once.
func testRunnerRetry(t *testing.T, h Harness) {
	s := h.Store
	for i := range 20 {
		mustAppend(t, s, one(fmt.Sprintf("rr-%d", i), 0, ev("T", nil)))
	}
	var mu sync.Mutex
	failed := map[int64]bool{}
	c := &collector{fail: func(pos int64) bool {
		mu.Lock()
		defer mu.Unlock()
		if pos%5 == 0 && !failed[pos] {
			failed[pos] = true
			return true
		}
		return false
	}}
	startRunner(t, s, c, 20*time.Millisecond)
	wantSeen(t, c, 20)
	if got := c.positions(); len(got) != 20 {
		t.Errorf("handled %d events, want exactly 20", len(got))
	}
}
