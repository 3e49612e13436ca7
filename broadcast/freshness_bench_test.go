package broadcast_test

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/sessiond/sessiond/internal/natstest"
	"github.com/sessiond/sessiond/internal/waitfor"
	"github.com/sessiond/sessiond/verifier"
)

// BenchmarkFreshnessUnderLoad appends b.N revocations to the embedded
// store as fast as one writer can while the relay (20 ms heartbeats)
// broadcasts them, and reports the largest staleness a verifier saw next
// to the largest real delay from an append to the verifier applying it:
// the heartbeat should say how far behind the relay really is.
func BenchmarkFreshnessUnderLoad(b *testing.B) {
	ns := natstest.Start(b)
	l := newLog(b)
	startRelay(b, ns, l)
	var (
		mu       sync.Mutex
		appended = map[string]time.Time{}
		maxDelay time.Duration
	)
	nc, err := nats.Connect(ns.URL())
	if err != nil {
		b.Fatal(err)
	}
	defer nc.Close()
	var v *verifier.Verifier
	waitfor.Cond(b, 10*time.Second, func() error {
		v, err = verifier.New(context.Background(), nc, verifier.WithLogger(slog.New(slog.DiscardHandler)),
			verifier.WithObserver(func(r verifier.Revocation) {
				mu.Lock()
				defer mu.Unlock()
				if at, ok := appended[r.SessionID]; ok {
					maxDelay = max(maxDelay, time.Since(at))
				}
			}))
		return err
	})
	defer v.Close()
	waitfor.Cond(b, 10*time.Second, func() error {
		if s := v.Staleness(); s > time.Second {
			return fmt.Errorf("staleness %v", s)
		}
		return nil
	})
	stop := make(chan struct{})
	sampled := make(chan time.Duration)
	go func() {
		var worst time.Duration
		for {
			select {
			case <-stop:
				sampled <- worst
				return
			case <-time.After(5 * time.Millisecond):
				worst = max(worst, v.Staleness())
			}
		}
	}()
	b.ResetTimer()
	for i := range b.N {
		id := fmt.Sprint("load-", i)
		mu.Lock()
		appended[id] = time.Now()
		mu.Unlock()
		revoke(b, l, id)
	}
	last := fmt.Sprint("load-", b.N-1)
	waitfor.Cond(b, time.Minute, func() error {
		if v.Check(last) == nil {
			return fmt.Errorf("%s not applied yet", last)
		}
		return nil
	})
	b.StopTimer()
	close(stop)
	worst := <-sampled
	mu.Lock()
	defer mu.Unlock()
	b.ReportMetric(float64(worst.Milliseconds()), "max-staleness-ms")
	b.ReportMetric(float64(maxDelay.Milliseconds()), "max-delay-ms")
}
