package broadcast

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sessiond/sessiond/internal/pgtest"
	"github.com/sessiond/sessiond/internal/waitfor"
)

// slowLock is a lock connection whose pings are still in flight when
// leadership ends (they return 100 ms after their context, as a ping
// waiting on a slow network would). It records a Close that overlaps a
// ping: pgx connections are not safe for concurrent use.
type slowLock struct {
	pinging atomic.Int32
	pings   atomic.Int32
	overlap atomic.Bool
	closed  chan struct{}
}

func (l *slowLock) Ping(ctx context.Context) error {
	l.pinging.Add(1)
	defer l.pinging.Add(-1)
	l.pings.Add(1)
	<-ctx.Done()
	select {
	case <-l.closed:
		l.overlap.Store(true)
	case <-time.After(100 * time.Millisecond):
	}
	return ctx.Err()
}

func (l *slowLock) Close(context.Context) error {
	if l.pinging.Load() > 0 {
		l.overlap.Store(true)
	}
	close(l.closed)
	return nil
}

// TestHoldClosesAfterWatch: when a term ends, the lock connection is closed
// only after the watcher's last ping has returned.
func TestHoldClosesAfterWatch(t *testing.T) {
	for range 5 {
		l := &slowLock{closed: make(chan struct{})}
		hold(context.Background(), l, time.Millisecond, func(ctx context.Context) {
			// The term lasts until a ping is in flight.
			waitfor.Cond(t, 5*time.Second, func() error {
				if l.pinging.Load() == 0 {
					return errors.New("no ping in flight")
				}
				return nil
			})
		})
		select {
		case <-l.closed:
		default:
			t.Fatal("hold returned without closing the lock connection")
		}
		if l.overlap.Load() {
			t.Fatal("the lock connection was closed while the watcher was still pinging it")
		}
	}
}

// TestShortTermsOnPostgres: many short leadership terms on PostgreSQL, their
// lock connection pinged every millisecond; each term frees the lock for
// the next. Closing the connection under a ping in flight made pgx panic
// ("slow write timer already active") within a few dozen terms.
func TestShortTermsOnPostgres(t *testing.T) {
	defer func(d time.Duration) { watchEvery = d }(watchEvery)
	watchEvery = time.Millisecond
	pool, _ := pgtest.NewPool(t)
	elect := PostgresElect(pool)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for i := range 50 {
		var ran bool
		term := func(lctx context.Context) {
			ran = true
			// Let a few pings go out (and likely one be in flight).
			var n int
			waitfor.Cond(t, 5*time.Second, func() error {
				if n++; n < 3 {
					return errors.New("not yet")
				}
				return nil
			})
		}
		// PostgreSQL frees the previous term's lock when its backend exits,
		// just after the connection closes.
		waitfor.Cond(t, 5*time.Second, func() error {
			won, err := elect(ctx, term)
			if err != nil {
				t.Fatalf("term %d: %v", i, err)
			}
			if !won || !ran {
				return fmt.Errorf("term %d: the lock is not free", i)
			}
			return nil
		})
	}
}
