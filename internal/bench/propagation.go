package bench

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
	"github.com/nats-io/nats.go"

	"github.com/sessiond/sessiond/verifier"
)

// followers are verifiers, each on its own NATS connection, noting when
// each revocation reached them (after which Check answers ErrRevoked).
type followers struct {
	conns []*nats.Conn
	vs    []*verifier.Verifier

	mu   sync.Mutex
	seen []map[string]time.Time // per verifier: session id → applied at
}

func follow(ctx context.Context, url string, n int) (*followers, error) {
	f := &followers{seen: make([]map[string]time.Time, n)}
	for i := range n {
		f.seen[i] = map[string]time.Time{}
		nc, err := nats.Connect(url, nats.Name(fmt.Sprintf("sessiond-bench-verifier-%d", i)))
		if err != nil {
			f.close()
			return nil, fmt.Errorf("verifier %d: nats %s: %w", i, url, err)
		}
		f.conns = append(f.conns, nc)
		seen := f.seen[i]
		observe := verifier.WithObserver(func(r verifier.Revocation) {
			now := time.Now()
			f.mu.Lock()
			if _, ok := seen[r.SessionID]; !ok {
				seen[r.SessionID] = now
			}
			f.mu.Unlock()
		})
		// A server that has just started may not have created its stream
		// yet: ask again for a while.
		var v *verifier.Verifier
		deadline := time.Now().Add(15 * time.Second)
		for {
			if v, err = verifier.New(ctx, nc, observe); err == nil || time.Now().After(deadline) || ctx.Err() != nil {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		if err != nil {
			f.close()
			return nil, fmt.Errorf("verifier %d: %w", i, err)
		}
		f.vs = append(f.vs, v)
	}
	return f, nil
}

// missing counts the (verifier, session) pairs not applied yet.
func (f *followers) missing(ids []string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, seen := range f.seen {
		for _, id := range ids {
			if _, ok := seen[id]; !ok {
				n++
			}
		}
	}
	return n
}

// await waits until every verifier has every id, or bound passes; it
// returns how many pairs are still missing.
func (f *followers) await(ids []string, bound time.Duration) int {
	deadline := time.Now().Add(bound)
	for {
		m := f.missing(ids)
		if m == 0 || time.Now().After(deadline) {
			return m
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// latencies is, for every pair, the time from sending the DELETE to the
// verifier applying it.
func (f *followers) latencies(ids []string, sent []time.Time) *hdrhistogram.Histogram {
	h := newHist()
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, seen := range f.seen {
		for i, id := range ids {
			if at, ok := seen[id]; ok {
				_ = h.RecordValue(max(at.Sub(sent[i]).Microseconds(), minMicros))
			}
		}
	}
	return h
}

func (f *followers) close() {
	for _, v := range f.vs {
		v.Close()
	}
	for _, nc := range f.conns {
		nc.Close()
	}
}
