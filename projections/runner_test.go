package projections_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/sessiond/sessiond/domain"
	"github.com/sessiond/sessiond/eventstore"
	"github.com/sessiond/sessiond/eventstore/consumer"
	"github.com/sessiond/sessiond/internal/waitfor"
)

// countingSource records every checkpoint save and counts reads.
type countingSource struct {
	appender
	mu    sync.Mutex
	saves []int64
	reads int
}

func (c *countingSource) ReadAll(ctx context.Context, after int64, limit int) ([]eventstore.Recorded, error) {
	c.mu.Lock()
	c.reads++
	c.mu.Unlock()
	return c.appender.ReadAll(ctx, after, limit)
}

func (c *countingSource) readCount() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.reads
}

func (c *countingSource) SaveCheckpoint(ctx context.Context, name string, position int64) error {
	c.mu.Lock()
	c.saves = append(c.saves, position)
	c.mu.Unlock()
	return c.appender.SaveCheckpoint(ctx, name, position)
}

func (c *countingSource) saved() []int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.saves)
}

// startRunner runs r, handling every event and polling only hourly (so
// only commits wake it), until the returned stop.
func startRunner(r *consumer.Runner) (*consumer.Runner, func()) {
	r.Poll = time.Hour
	r.Handle = func(_ context.Context, evs []eventstore.Recorded) (int64, error) {
		return evs[len(evs)-1].Position, nil
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); r.Run(ctx) }()
	return r, func() { cancel(); <-done }
}

// TestRunnerSaveEvery: with SaveEvery, the runner handles every event at
// once but saves its checkpoint at most that often, once more when a
// deferred save falls due with nothing new to read, and on exit.
func TestRunnerSaveEvery(t *testing.T) { eachStore(t, testRunnerSaveEvery) }

func testRunnerSaveEvery(t *testing.T, s appender, _ model) {
	now := time.Now()
	add := func(i int) {
		apply(t, s, 0, domain.SessionStarted{SessionID: fmt.Sprint("s", i), UserID: "u", StartedAt: now, ExpiresAt: now.Add(time.Hour)})
	}
	run := func(src *countingSource, every time.Duration) (*consumer.Runner, func()) {
		return startRunner(&consumer.Runner{Name: "relay", Source: src, SaveEvery: every})
	}
	reach := func(r *consumer.Runner, p int64) {
		waitfor.Cond(t, 10*time.Second, func() error {
			if got := r.Position(); got != p {
				return fmt.Errorf("runner at %d, want %d", got, p)
			}
			return nil
		})
	}
	checkpoint := func() int64 {
		p, err := s.LoadCheckpoint(context.Background(), "relay")
		if err != nil {
			t.Fatal(err)
		}
		return p
	}

	// Every hour: the first batch is saved, the next ones only on exit.
	src := &countingSource{appender: s}
	add(1)
	r, stop := run(src, time.Hour)
	reach(r, 1)
	for i := 2; i <= 5; i++ {
		add(i)
		reach(r, int64(i))
	}
	if got := checkpoint(); got != 1 {
		t.Errorf("checkpoint %d while running, want 1 (saved at most hourly)", got)
	}
	stop()
	if got, want := src.saved(), []int64{1, 5}; !slices.Equal(got, want) {
		t.Errorf("saves %v, want %v", got, want)
	}
	if got := checkpoint(); got != 5 {
		t.Errorf("checkpoint %d after exit, want 5", got)
	}

	// A deferred save is made once due, with no new event to wake the runner.
	src = &countingSource{appender: s}
	r, _ = run(src, time.Second)
	reach(r, 5)
	add(6)
	reach(r, 6) // saved at once: the first save of the run
	for i := 7; i <= 9; i++ {
		add(i)
	}
	reach(r, 9)
	waitfor.Cond(t, 10*time.Second, func() error {
		if got := checkpoint(); got != 9 {
			return fmt.Errorf("checkpoint %d, want 9", got)
		}
		return nil
	})
}

// TestRunnerLinger: with Linger, commits made one after another wake the
// runner once for the lot: it reads them together instead of once per
// commit, and still handles every event.
func TestRunnerLinger(t *testing.T) { eachStore(t, testRunnerLinger) }

func testRunnerLinger(t *testing.T, s appender, _ model) {
	const linger, commits = time.Second, 20
	now := time.Now()
	src := &countingSource{appender: s}
	r, stop := startRunner(&consumer.Runner{Name: "mirror", Source: src, Linger: linger})
	defer stop()
	waitfor.Cond(t, 10*time.Second, func() error {
		if src.readCount() == 0 {
			return fmt.Errorf("no first read yet")
		}
		return nil
	})

	began := time.Now()
	for i := range commits {
		apply(t, s, 0, domain.SessionStarted{SessionID: fmt.Sprint("l", i), UserID: "u", StartedAt: now, ExpiresAt: now.Add(time.Hour)})
	}
	waitfor.Cond(t, 10*time.Second, func() error {
		if got := r.Position(); got != commits {
			return fmt.Errorf("runner at %d, want %d", got, commits)
		}
		return nil
	})
	// The first read, then one per Linger of commits (a wake that arrives
	// while a read is under way adds one).
	reads, bound := src.readCount(), int(time.Since(began)/linger)+3
	t.Logf("%d reads for %d commits in %v", reads, commits, time.Since(began).Round(time.Millisecond))
	if reads > bound {
		t.Errorf("%d reads for %d commits; want at most %d with a %v linger", reads, commits, bound, linger)
	}
}
