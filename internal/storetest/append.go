package storetest

import (
	"bytes"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/google/uuid"

	"github.com/sessiond/sessiond/eventstore"
)

func testAppendRead(t *testing.T, h Harness) {
	s := h.Store
	if pos, hash, err := s.Head(ctx(t)); err != nil || pos != 0 || !bytes.Equal(hash, eventstore.GenesisHash) {
		t.Fatalf("empty head = %d, %x, %v; want 0, genesis, nil", pos, hash, err)
	}
	recs := mustAppend(t, s, eventstore.StreamAppend{StreamID: "s-a", ExpectedVersion: 0, Events: []eventstore.Proposed{
		ev("T1", map[string]any{"n": 1}), ev("T2", map[string]any{"n": 2}),
	}})
	mustAppend(t, s, one("s-b", 0, ev("T1", map[string]any{"n": 3})))
	mustAppend(t, s, one("s-a", 2, ev("T3", map[string]any{"n": 4, "s": "ü \"q\""})))

	if got, want := len(recs), 2; got != want {
		t.Fatalf("recorded %d events, want %d", got, want)
	}
	for i, r := range recs {
		if got, want := r.Position, int64(i+1); got != want {
			t.Errorf("position = %d, want %d", got, want)
		}
		if got, want := r.StreamVersion, int64(i+1); got != want {
			t.Errorf("version = %d, want %d", got, want)
		}
	}
	stream, err := s.ReadStream(ctx(t), "s-a")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range stream {
		got = append(got, fmt.Sprintf("%d/%d/%s", r.Position, r.StreamVersion, r.Type))
	}
	if g, w := fmt.Sprint(got), "[1/1/T1 2/2/T2 4/3/T3]"; g != w {
		t.Errorf("stream s-a = %s, want %s", g, w)
	}
	if empty, err := s.ReadStream(ctx(t), "nope"); err != nil || len(empty) != 0 {
		t.Errorf("unknown stream = %d events, %v; want 0, nil", len(empty), err)
	}
	all, err := s.ReadAll(ctx(t), 1, 2)
	if err != nil {
		t.Fatal(err)
	}
	if g, w := positions(all), "[2 3]"; g != w {
		t.Errorf("ReadAll(1, 2) positions = %s, want %s", g, w)
	}
	last := stream[2]
	if !bytes.Contains(last.Data, []byte(`ü`)) || !bytes.Contains(last.Metadata, []byte(`requestId`)) {
		t.Errorf("data/metadata did not round-trip: %s %s", last.Data, last.Metadata)
	}
	pos, hash, err := s.Head(ctx(t))
	if err != nil || pos != 4 || !bytes.Equal(hash, last.Hash) {
		t.Errorf("head = %d, %x, %v; want 4, %x", pos, hash, err, last.Hash)
	}
}

func testConflict(t *testing.T, h Harness) {
	s := h.Store
	mustAppend(t, s, one("s-1", 0, ev("T", nil)))
	_, err := s.Append(ctx(t), one("s-1", 0, ev("T", nil)))
	var ce *eventstore.ConflictError
	if !errors.Is(err, eventstore.ErrConflict) || !errors.As(err, &ce) {
		t.Fatalf("second append at version 0: err = %v, want a ConflictError", err)
	}
	if ce.StreamID != "s-1" || ce.Expected != 0 {
		t.Errorf("conflict = %+v, want stream s-1 expected 0", ce)
	}
	// Expecting a version the stream has not reached must not leave a gap,
	// also right after a successful append (when a writer knows the head).
	for _, expected := range []int64{5, 2} {
		mustAppend(t, s, one(fmt.Sprintf("warm-%d", expected), 0, ev("T", nil)))
		if _, err := s.Append(ctx(t), one("s-1", expected, ev("T", nil))); !errors.Is(err, eventstore.ErrConflict) {
			t.Errorf("append at expected version %d to a stream at 1: err = %v, want conflict", expected, err)
		}
	}
	if recs, _ := s.ReadStream(ctx(t), "s-1"); len(recs) != 1 {
		t.Fatalf("s-1 has %d events, want 1", len(recs))
	}
	recs := mustAppend(t, s, one("s-1", eventstore.AnyVersion, ev("T", nil)))
	if got, want := recs[0].StreamVersion, int64(2); got != want {
		t.Errorf("AnyVersion append got version %d, want %d", got, want)
	}
}

// testTwoWriters: two stores on one log (two processes) take turns, so each
// one's idea of the head is stale every time. Every append must succeed and
// the chain must stay intact.
func testTwoWriters(t *testing.T, h Harness) {
	for i := range 20 {
		s := h.Store
		if i%2 == 1 {
			s = h.Second
		}
		recs := mustAppend(t, s, one(fmt.Sprintf("tw-%d", i), 0, ev("T", map[string]any{"i": i})))
		if got, want := recs[0].Position, int64(i+1); got != want {
			t.Fatalf("append %d got position %d, want %d", i, got, want)
		}
	}
	if res := mustVerify(t, h.Store); res.Broken != nil || res.Checked != 20 {
		t.Fatalf("verify = %+v; want 20 intact", res)
	}
}

// testConflictAtomic: an append to several streams is all or nothing.
func testConflictAtomic(t *testing.T, h Harness) {
	s := h.Store
	mustAppend(t, s, one("s-x", 0, ev("T", nil)))
	_, err := s.Append(ctx(t), one("s-new", 0, ev("T", nil)), one("s-x", 0, ev("T", nil)))
	if !errors.Is(err, eventstore.ErrConflict) {
		t.Fatalf("err = %v, want conflict", err)
	}
	if recs, _ := s.ReadStream(ctx(t), "s-new"); len(recs) != 0 {
		t.Errorf("s-new has %d events after a failed multi-stream append, want 0", len(recs))
	}
	recs := mustAppend(t, s, one("s-new", 0, ev("T", nil)), one("s-x", 1, ev("T", nil)))
	if g, w := positions(recs), "[2 3]"; g != w {
		t.Errorf("positions = %s, want %s (no gap from the failed append)", g, w)
	}
}

// testConflictRace: 20 writers race for version 1 of one stream; exactly
// one wins.
func testConflictRace(t *testing.T, h Harness) {
	const n = 20
	var (
		wg              sync.WaitGroup
		mu              sync.Mutex
		wins, conflicts int
		unexpected      []error
		start           = make(chan struct{})
	)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			_, err := h.Store.Append(ctx(t), one("race", 0, ev("T", map[string]any{"writer": i})))
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				wins++
			case errors.Is(err, eventstore.ErrConflict):
				conflicts++
			default:
				unexpected = append(unexpected, err)
			}
		}()
	}
	close(start)
	wg.Wait()
	if wins != 1 || conflicts != n-1 || len(unexpected) > 0 {
		t.Fatalf("wins = %d, conflicts = %d, other errors = %v; want 1, %d, none", wins, conflicts, unexpected, n-1)
	}
	if recs, _ := h.Store.ReadStream(ctx(t), "race"); len(recs) != 1 {
		t.Errorf("stream has %d events, want 1", len(recs))
	}
}

func testIdempotent(t *testing.T, h Harness) {
	s := h.Store
	a, b := uuid.New(), uuid.New()
	e1, e2 := ev("T", map[string]any{"n": 1}), ev("T", map[string]any{"n": 2})
	e1.EventID, e2.EventID = a, b
	first := mustAppend(t, s, eventstore.StreamAppend{StreamID: "idem", ExpectedVersion: 0, Events: []eventstore.Proposed{e1, e2}})
	mustAppend(t, s, one("other", 0, ev("T", nil)))

	again := mustAppend(t, s, eventstore.StreamAppend{StreamID: "idem", ExpectedVersion: 0, Events: []eventstore.Proposed{e1, e2}})
	if g, w := positions(again), positions(first); g != w {
		t.Errorf("re-append positions = %s, want the originals %s", g, w)
	}
	if !bytes.Equal(again[1].Hash, first[1].Hash) {
		t.Errorf("re-append returned a different hash")
	}
	if pos, _, _ := s.Head(ctx(t)); pos != 3 {
		t.Errorf("head = %d after a re-append, want 3 (nothing new)", pos)
	}
	// ReadEvent finds an event by its id, and nothing for an unknown id.
	if got, err := s.ReadEvent(ctx(t), b); err != nil || got == nil || got.Position != first[1].Position || !bytes.Equal(got.Hash, first[1].Hash) {
		t.Errorf("ReadEvent(%s) = %+v, %v; want position %d", b, got, err, first[1].Position)
	}
	if got, err := s.ReadEvent(ctx(t), uuid.New()); err != nil || got != nil {
		t.Errorf("ReadEvent(unknown) = %+v, %v; want nil, nil", got, err)
	}
	e3 := ev("T", nil)
	_, err := s.Append(ctx(t), eventstore.StreamAppend{StreamID: "idem", ExpectedVersion: 2, Events: []eventstore.Proposed{e1, e3}})
	if !errors.Is(err, eventstore.ErrPartialDuplicate) {
		t.Errorf("partial re-append: err = %v, want ErrPartialDuplicate", err)
	}
	// Concurrent retries of one event id record it once.
	e4 := ev("T", nil)
	e4.EventID = uuid.New()
	var wg sync.WaitGroup
	got := make([]int64, 10)
	for i := range got {
		wg.Add(1)
		go func() {
			defer wg.Done()
			recs, err := s.Append(ctx(t), one("idem-race", 0, e4))
			if err != nil {
				t.Errorf("retry %d: %v", i, err)
				return
			}
			got[i] = recs[0].Position
		}()
	}
	wg.Wait()
	for i, p := range got {
		if p != got[0] {
			t.Errorf("retry %d got position %d, retry 0 got %d", i, p, got[0])
		}
	}
}

func testInvalidInput(t *testing.T, h Harness) {
	cases := map[string]eventstore.StreamAppend{
		"no stream":   {ExpectedVersion: 0, Events: []eventstore.Proposed{ev("T", nil)}},
		"no events":   {StreamID: "s", ExpectedVersion: 0},
		"no type":     one("s", 0, eventstore.Proposed{Data: []byte(`{}`)}),
		"not object":  one("s", 0, eventstore.Proposed{Type: "T", Data: []byte(`[1]`)}),
		"bad json":    one("s", 0, eventstore.Proposed{Type: "T", Data: []byte(`{"a":`)}),
		"nul":         one("s", 0, eventstore.Proposed{Type: "T", Data: []byte(`{"a":"\u0000"}`)}),
		"bad version": one("s", -2, ev("T", nil)),
	}
	for name, sa := range cases {
		if _, err := h.Store.Append(ctx(t), sa); !errors.Is(err, eventstore.ErrInvalidAppend) {
			t.Errorf("%s: err = %v, want ErrInvalidAppend", name, err)
		}
	}
	if pos, _, _ := h.Store.Head(ctx(t)); pos != 0 {
		t.Errorf("head = %d after invalid appends, want 0", pos)
	}
}

func positions(recs []eventstore.Recorded) string {
	p := make([]int64, len(recs))
	for i, r := range recs {
		p[i] = r.Position
	}
	return fmt.Sprint(p)
}
