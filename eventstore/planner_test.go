package eventstore_test

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/sessiond/sessiond/eventstore"
)

func proposed(n int) []eventstore.Proposed {
	out := make([]eventstore.Proposed, n)
	for i := range out {
		out[i] = eventstore.Proposed{EventID: uuid.New(), Type: "T", Data: []byte(`{}`), Metadata: []byte(`{}`)}
	}
	return out
}

// TestPlanner: positions follow the head, stream versions follow the
// versions read, several appends of one request to one stream follow each
// other, and the hash chain continues from the head's hash.
func TestPlanner(t *testing.T) {
	p := eventstore.NewPlanner(time.Date(2026, 3, 1, 14, 3, 0, 0, time.UTC))
	p.LastPos, p.PrevHash = 10, bytes.Repeat([]byte{7}, 32)
	p.Versions["s-a"] = 2
	recs, err := p.Add([]eventstore.StreamAppend{
		{StreamID: "s-a", ExpectedVersion: 2, Events: proposed(2)},
		{StreamID: "s-b", ExpectedVersion: 0, Events: proposed(1)},
		{StreamID: "s-a", ExpectedVersion: eventstore.AnyVersion, Events: proposed(1)},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		pos     int64
		stream  string
		version int64
	}{{11, "s-a", 3}, {12, "s-a", 4}, {13, "s-b", 1}, {14, "s-a", 5}}
	if len(recs) != len(want) {
		t.Fatalf("%d records, want %d", len(recs), len(want))
	}
	prev := bytes.Repeat([]byte{7}, 32) // the head's hash

	for i, w := range want {
		r := recs[i]
		if r.Position != w.pos || r.StreamID != w.stream || r.StreamVersion != w.version {
			t.Errorf("record %d = position %d %s v%d, want %d %s v%d", i, r.Position, r.StreamID, r.StreamVersion, w.pos, w.stream, w.version)
		}
		if !bytes.Equal(r.PrevHash, prev) {
			t.Errorf("record %d does not chain to the one before", i)
		}
		if got := eventstore.ComputeHashCanonical(r.PrevHash, &r); !bytes.Equal(got, r.Hash) {
			t.Errorf("record %d hash is not its canonical hash", i)
		}
		prev = r.Hash
	}
	if p.LastPos != 14 || !bytes.Equal(p.PrevHash, prev) || len(p.Recs) != 4 {
		t.Errorf("planner after the request: head %d, %d planned", p.LastPos, len(p.Recs))
	}

	// A second request of the batch sees the first one's versions.
	if _, err := p.Add([]eventstore.StreamAppend{{StreamID: "s-a", ExpectedVersion: 5, Events: proposed(1)}}); err != nil {
		t.Errorf("append at the version the batch reached: %v", err)
	}
}

// TestPlannerConflict: a wrong expected version plans nothing of the
// request and reports the stream and both versions.
func TestPlannerConflict(t *testing.T) {
	p := eventstore.NewPlanner(time.Now())
	p.Versions["s-a"] = 3
	_, err := p.Add([]eventstore.StreamAppend{
		{StreamID: "s-b", ExpectedVersion: 0, Events: proposed(1)},
		{StreamID: "s-a", ExpectedVersion: 2, Events: proposed(1)},
	})
	var c *eventstore.ConflictError
	if !errors.As(err, &c) || c.StreamID != "s-a" || c.Expected != 2 || c.Actual != 3 {
		t.Fatalf("Add = %v, want a conflict on s-a (expected 2, actual 3)", err)
	}
	if len(p.Recs) != 0 || p.LastPos != 0 {
		t.Errorf("a refused request planned %d records", len(p.Recs))
	}
	if _, err := p.Add([]eventstore.StreamAppend{{StreamID: "s-b", ExpectedVersion: 0, Events: proposed(1)}}); err != nil {
		t.Errorf("s-b after the refused request: %v", err)
	}
}

// TestPlannerReplay: a request whose event ids are all recorded is a
// replay answered with the originals, planning nothing; one that repeats
// only some of them is an error.
func TestPlannerReplay(t *testing.T) {
	p := eventstore.NewPlanner(time.Now())
	evs := proposed(2)
	first, err := p.Add([]eventstore.StreamAppend{{StreamID: "s-a", ExpectedVersion: 0, Events: evs}})
	if err != nil {
		t.Fatal(err)
	}
	again, err := p.Add([]eventstore.StreamAppend{{StreamID: "s-a", ExpectedVersion: 0, Events: evs}})
	if err != nil || len(again) != 2 || again[0].Position != first[0].Position || again[1].EventID != first[1].EventID {
		t.Fatalf("replay = %v, %v; want the originals", again, err)
	}
	if len(p.Recs) != 2 {
		t.Errorf("a replay planned more: %d records", len(p.Recs))
	}
	mixed := append([]eventstore.Proposed{evs[0]}, proposed(1)...)
	if _, err := p.Add([]eventstore.StreamAppend{{StreamID: "s-a", ExpectedVersion: 2, Events: mixed}}); !errors.Is(err, eventstore.ErrPartialDuplicate) {
		t.Errorf("partial repeat = %v, want ErrPartialDuplicate", err)
	}
}
