package eventstore_test

import (
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/sessiond/sessiond/eventstore"
)

// chain builds n linked events.
func chain(t *testing.T, n int) []eventstore.Recorded {
	t.Helper()
	prev := eventstore.GenesisHash
	at := time.Date(2026, 3, 1, 14, 3, 0, 0, time.UTC)
	recs := make([]eventstore.Recorded, n)
	for i := range recs {
		r := &recs[i]
		*r = eventstore.Recorded{Position: int64(i + 1), StreamID: "s", StreamVersion: int64(i + 1), EventID: uuid.New(), Type: "T",
			Data: []byte(`{"n":1}`), Metadata: []byte(`{}`), RecordedAt: at, PrevHash: prev}
		h, err := eventstore.ComputeHash(prev, r)
		if err != nil {
			t.Fatal(err)
		}
		r.Hash, prev = h, h
	}
	return recs
}

// TestFullWalkerReportsEveryBreak: a modified row and, later, deleted
// rows are each reported once, with their ranges, and nothing else.
func TestFullWalkerReportsEveryBreak(t *testing.T) {
	recs := chain(t, 10)
	recs[2].Data = []byte(`{"n":2}`)       // position 3 modified
	recs = append(recs[:5:5], recs[7:]...) // positions 6 and 7 deleted
	w := eventstore.NewFullWalker(1, eventstore.GenesisHash)
	for i := range recs {
		w.Step(&recs[i])
	}
	res := w.Finish(10)
	if len(res.Breaks) != 2 {
		t.Fatalf("breaks = %+v; want 2", res.Breaks)
	}
	if b := res.Breaks[0]; b.Kind != eventstore.BreakModified || b.Position != 3 || b.From != 3 || b.To != 3 || b.EventID != recs[2].EventID.String() {
		t.Errorf("first break = %+v", b)
	}
	if b := res.Breaks[1]; b.Kind != eventstore.BreakMissing || b.Position != 6 || b.From != 6 || b.To != 7 {
		t.Errorf("second break = %+v", b)
	}
	if res.Broken == nil || res.Broken.Position != 3 || res.To != 10 {
		t.Errorf("result = %+v", res)
	}
	// The stopping walker still ends at the first.
	w = eventstore.NewChainWalker(1, eventstore.GenesisHash)
	for i := range recs {
		w.Step(&recs[i])
	}
	if res := w.Finish(10); len(res.Breaks) != 1 || res.Broken.Position != 3 {
		t.Errorf("stopping walker = %+v", res.Breaks)
	}
}
