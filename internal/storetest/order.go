package storetest

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/sessiond/sessiond/eventstore"
)

// testGlobalOrderTail: 8 writers, split over two store instances as over
// two processes, append thousands of events while a reader tails with
// position > checkpoint. The reader must see every event exactly
// once, in strictly increasing, gapless position order.
func testGlobalOrderTail(t *testing.T, h Harness) {
	const (
		writers   = 8
		perWriter = 400
		total     = writers * perWriter
	)
	s := h.Store
	sent := make(map[uuid.UUID]bool, total)
	var mu sync.Mutex
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := s
			if w%2 == 1 {
				s = h.Second
			}
			for i := range perWriter {
				e := ev("T", map[string]any{"w": w, "i": i})
				e.EventID = uuid.New()
				// Every third append carries two streams at once.
				appends := []eventstore.StreamAppend{one(fmt.Sprintf("w%d-%d", w, i), 0, e)}
				if i%3 == 0 {
					e2 := ev("T", map[string]any{"w": w, "i": i, "pair": true})
					e2.EventID = uuid.New()
					appends = append(appends, one(fmt.Sprintf("w%d-%d-pair", w, i), 0, e2))
				}
				if _, err := s.Append(ctx(t), appends...); err != nil {
					t.Errorf("writer %d append %d: %v", w, i, err)
					return
				}
				mu.Lock()
				for _, a := range appends {
					sent[a.Events[0].EventID] = true
				}
				mu.Unlock()
			}
		}()
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()

	seen := make(map[uuid.UUID]bool)
	var checkpoint int64
	finished := false
	deadline := time.Now().Add(2 * time.Minute)
	for {
		batch, err := s.ReadAll(ctx(t), checkpoint, 97)
		if err != nil {
			t.Fatalf("tail: %v", err)
		}
		for _, r := range batch {
			if r.Position != checkpoint+1 {
				t.Fatalf("tail saw position %d after %d: not gapless and in order", r.Position, checkpoint)
			}
			if seen[r.EventID] {
				t.Fatalf("tail saw event %s twice", r.EventID)
			}
			seen[r.EventID] = true
			checkpoint = r.Position
		}
		if len(batch) == 0 {
			if finished {
				break
			}
			select {
			case <-done:
				finished = true // one more read after the last commit
			default:
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("tail did not finish")
		}
	}
	if t.Failed() {
		return
	}
	mu.Lock()
	defer mu.Unlock()
	if got, want := len(seen), len(sent); got != want {
		t.Fatalf("tail saw %d events, writers recorded %d", got, want)
	}
	for id := range sent {
		if !seen[id] {
			t.Fatalf("tail missed event %s", id)
		}
	}
}

// testGroupCommit: appends that arrive while a commit is in flight share
// the next transaction.
func testGroupCommit(t *testing.T, h Harness) {
	const n = 64
	before := h.Commits()
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			if _, err := h.Store.Append(ctx(t), one(fmt.Sprintf("g-%d", i), 0, ev("T", nil))); err != nil {
				t.Errorf("append %d: %v", i, err)
			}
		}()
	}
	close(start)
	wg.Wait()
	commits := h.Commits() - before
	if commits >= n {
		t.Errorf("%d concurrent appends took %d transactions; want fewer (group commit)", n, commits)
	}
	if pos, _, _ := h.Store.Head(ctx(t)); pos != n {
		t.Errorf("head = %d, want %d", pos, n)
	}
	t.Logf("%d appends in %d transactions", n, commits)
}
