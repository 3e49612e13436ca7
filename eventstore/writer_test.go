package eventstore_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/sessiond/sessiond/eventstore"
	"github.com/sessiond/sessiond/internal/waitfor"
)

// fakeCommit is a CommitFunc that records every batch it is given. While
// hold is set, a call blocks until release is called; fail decides a
// batch's error (nil: commit it, replying to every request).
type fakeCommit struct {
	mu      sync.Mutex
	batches [][]string // stream ids of each call, in order
	held    chan struct{}
	gate    chan struct{}
	fail    func(streams []string) error
}

func newFakeCommit() *fakeCommit {
	return &fakeCommit{held: make(chan struct{}, 16)}
}

// hold makes the next commits block until release.
func (f *fakeCommit) hold() { f.mu.Lock(); f.gate = make(chan struct{}); f.mu.Unlock() }

func (f *fakeCommit) release() { f.mu.Lock(); close(f.gate); f.gate = nil; f.mu.Unlock() }

func (f *fakeCommit) commit(batch []*eventstore.Request) error {
	streams := make([]string, len(batch))
	for i, r := range batch {
		streams[i] = r.Appends[0].StreamID
	}
	f.mu.Lock()
	f.batches = append(f.batches, streams)
	gate, fail := f.gate, f.fail
	f.mu.Unlock()
	if gate != nil {
		f.held <- struct{}{}
		<-gate
	}
	if fail != nil {
		if err := fail(streams); err != nil {
			return err
		}
	}
	for _, r := range batch {
		r.Reply([]eventstore.Recorded{{StreamID: r.Appends[0].StreamID}}, nil)
	}
	return nil
}

func (f *fakeCommit) calls() [][]string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.batches)
}

func (f *fakeCommit) committed(stream string) bool {
	for _, b := range f.calls() {
		if slices.Contains(b, stream) {
			return true
		}
	}
	return false
}

func one(stream string) eventstore.StreamAppend {
	return eventstore.StreamAppend{StreamID: stream, Events: []eventstore.Proposed{{Type: "T", Data: json.RawMessage(`{}`)}}}
}

type appendResult struct {
	recs []eventstore.Recorded
	err  error
}

// appendAsync starts an Append and returns where its result will arrive.
func appendAsync(ctx context.Context, w *eventstore.Writer, stream string) <-chan appendResult {
	out := make(chan appendResult, 1)
	go func() {
		recs, err := w.Append(ctx, one(stream))
		out <- appendResult{recs, err}
	}()
	return out
}

func queued(w *eventstore.Writer, n int) func() error {
	return func() error {
		if got := w.Queued(); got != n {
			return fmt.Errorf("%d requests queued, want %d", got, n)
		}
		return nil
	}
}

func recv(t *testing.T, ch <-chan appendResult) appendResult {
	t.Helper()
	select {
	case r := <-ch:
		return r
	case <-time.After(10 * time.Second):
		t.Fatal("Append did not return")
		return appendResult{}
	}
}

// TestWriterCloseDrains: Close commits every queued request before it
// returns; Appends after Close fail with ErrClosed. (Repeated: the writer
// sees Close and the queue at the same moment, and may take either first.)
func TestWriterCloseDrains(t *testing.T) {
	for range 20 {
		f := newFakeCommit()
		w := eventstore.StartWriter(8, f.commit)
		f.hold()
		first := appendAsync(context.Background(), w, "a")
		<-f.held // "a" is being committed
		rest := []<-chan appendResult{appendAsync(context.Background(), w, "b"), appendAsync(context.Background(), w, "c")}
		waitfor.Cond(t, 5*time.Second, queued(w, 2))

		closed := make(chan struct{})
		go func() { w.Close(); close(closed) }()
		done, cancel := context.WithCancel(context.Background())
		cancel()                                      // a probe that never waits for the held writer
		waitfor.Cond(t, 5*time.Second, func() error { // Close has begun
			if _, err := w.Append(done, one("probe")); !errors.Is(err, eventstore.ErrClosed) {
				return fmt.Errorf("Append during Close = %v, want ErrClosed", err)
			}
			return nil
		})
		f.release()
		<-closed
		for i, ch := range append(rest, first) {
			if r := recv(t, ch); r.err != nil || len(r.recs) != 1 {
				t.Fatalf("request %d = %v, %v; want committed", i, r.recs, r.err)
			}
		}
		for _, s := range []string{"a", "b", "c"} {
			if !f.committed(s) {
				t.Fatalf("%s was not committed before Close returned", s)
			}
		}
		if _, err := w.Append(context.Background(), one("late")); !errors.Is(err, eventstore.ErrClosed) {
			t.Fatalf("Append after Close = %v, want ErrClosed", err)
		}
		w.Close() // twice is fine
	}
}

// TestWriterDropsAbandoned: a request whose caller gives up while it is
// still queued is never committed, and its caller is told nothing was
// recorded (ctx.Err(), not ErrOutcomeUnknown).
func TestWriterDropsAbandoned(t *testing.T) {
	f := newFakeCommit()
	w := eventstore.StartWriter(8, f.commit)
	defer w.Close()
	f.hold()
	first := appendAsync(context.Background(), w, "a")
	<-f.held
	// Queue gone-1, b, gone-2 in that order: the next batch starts with
	// an abandoned request and meets another while filling up.
	ctx, cancel := context.WithCancel(context.Background())
	gone := []<-chan appendResult{appendAsync(ctx, w, "gone-1")}
	waitfor.Cond(t, 5*time.Second, queued(w, 1))
	b := appendAsync(context.Background(), w, "b")
	waitfor.Cond(t, 5*time.Second, queued(w, 2))
	gone = append(gone, appendAsync(ctx, w, "gone-2"))
	waitfor.Cond(t, 5*time.Second, queued(w, 3))
	cancel()
	for _, ch := range gone {
		if r := recv(t, ch); !errors.Is(r.err, context.Canceled) || errors.Is(r.err, eventstore.ErrOutcomeUnknown) {
			t.Fatalf("abandoned request = %v, want context.Canceled (nothing recorded)", r.err)
		}
	}
	f.release()
	for _, ch := range []<-chan appendResult{first, b} {
		if r := recv(t, ch); r.err != nil {
			t.Fatal(r.err)
		}
	}
	for _, s := range []string{"gone-1", "gone-2"} {
		if f.committed(s) {
			t.Errorf("%s, abandoned in the queue, was committed: %v", s, f.calls())
		}
	}
}

// TestWriterOutcomeUnknown: a caller that gives up while its batch is
// being committed learns that the outcome is unknown.
func TestWriterOutcomeUnknown(t *testing.T) {
	f := newFakeCommit()
	w := eventstore.StartWriter(8, f.commit)
	defer w.Close()
	f.hold()
	ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
	inFlight := appendAsync(ctx, w, "a")
	<-f.held
	cancel()
	r := recv(t, inFlight)
	if !errors.Is(r.err, eventstore.ErrOutcomeUnknown) || !errors.Is(r.err, context.Canceled) {
		t.Errorf("cancelled during commit = %v, want ErrOutcomeUnknown wrapping context.Canceled", r.err)
	}
	f.release()
}

// TestWriterFallback: a batch that fails as a whole is retried one request
// at a time, so one bad request fails alone; an unavailable store or an
// unknown outcome is not retried.
func TestWriterFallback(t *testing.T) {
	bad := errors.New("bad request")
	for _, tc := range []struct {
		name      string
		batchErr  error
		wantCalls int   // commits after the first
		wantGood  error // what the good request gets
	}{
		{"retried alone", bad, 3, nil},
		{"unavailable", eventstore.ErrUnavailable, 1, eventstore.ErrUnavailable},
		{"unknown", eventstore.ErrOutcomeUnknown, 1, eventstore.ErrOutcomeUnknown},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeCommit()
			w := eventstore.StartWriter(8, f.commit)
			defer w.Close()
			f.hold()
			first := appendAsync(context.Background(), w, "a")
			<-f.held
			f.mu.Lock()
			f.fail = func(streams []string) error {
				if len(streams) > 1 || streams[0] == "bad" {
					if tc.batchErr == bad && len(streams) == 1 {
						return bad
					}
					return tc.batchErr
				}
				return nil
			}
			f.mu.Unlock()
			badRes, good := appendAsync(context.Background(), w, "bad"), appendAsync(context.Background(), w, "good")
			waitfor.Cond(t, 5*time.Second, queued(w, 2))
			f.release()
			recv(t, first)
			if r := recv(t, badRes); !errors.Is(r.err, tc.batchErr) {
				t.Errorf("bad request = %v, want %v", r.err, tc.batchErr)
			}
			if r := recv(t, good); !errors.Is(r.err, tc.wantGood) || (tc.wantGood == nil && r.err != nil) {
				t.Errorf("good request = %v, want %v", r.err, tc.wantGood)
			}
			if got := len(f.calls()) - 1; got != tc.wantCalls {
				t.Errorf("%d commits after the first (%v), want %d", got, f.calls(), tc.wantCalls)
			}
		})
	}
}
