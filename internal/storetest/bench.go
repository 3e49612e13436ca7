package storetest

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sessiond/sessiond/domain"
	"github.com/sessiond/sessiond/eventstore"
)

// BenchmarkAppend measures single-event appends (one SessionStarted each,
// with the inline read-model update) from 1, 8 and 32 concurrent callers,
// reporting appends/s and events per transaction. open returns a fresh
// store and its commit counter.
func BenchmarkAppend(b *testing.B, open func(b *testing.B) (Store, *atomic.Int64)) {
	for _, par := range []int{1, 8, 32} {
		b.Run(fmt.Sprintf("p%d", par), func(b *testing.B) {
			store, commits := open(b)
			now := time.Now()
			var next atomic.Int64
			b.ResetTimer()
			start := time.Now()
			var wg sync.WaitGroup
			for range par {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for {
						i := next.Add(1)
						if i > int64(b.N) {
							return
						}
						e := domain.SessionStarted{SessionID: fmt.Sprintf("bench-%d", i), UserID: fmt.Sprintf("u-%d", i%1000),
							StartedAt: now, ExpiresAt: now.Add(time.Hour)}
						typ, data, _ := domain.EncodeEvent(e)
						_, err := store.Append(context.Background(), eventstore.StreamAppend{
							StreamID: e.StreamID(), ExpectedVersion: 0,
							Events: []eventstore.Proposed{{Type: typ, Data: data, Metadata: []byte(`{"requestId":"bench"}`)}},
						})
						if err != nil {
							b.Error(err)
							return
						}
					}
				}()
			}
			wg.Wait()
			elapsed := time.Since(start)
			b.ReportMetric(float64(b.N)/elapsed.Seconds(), "appends/s")
			b.ReportMetric(float64(b.N)/float64(max(commits.Load(), 1)), "events/tx")
		})
	}
}
