package storetest

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"testing"

	"github.com/google/uuid"
	"github.com/gowebpki/jcs"

	"github.com/sessiond/sessiond/eventstore"
)

// fiveEvents appends five events to two streams and returns them.
func fiveEvents(t *testing.T, s Store) []eventstore.Recorded {
	t.Helper()
	var out []eventstore.Recorded
	for i := range 5 {
		stream := "chain-a"
		if i%2 == 1 {
			stream = "chain-b"
		}
		out = append(out, mustAppend(t, s, one(stream, eventstore.AnyVersion, ev("T", map[string]any{"i": i, "reason": "stolen laptop"})))...)
	}
	return out
}

func mustVerify(t *testing.T, s Store) eventstore.VerifyResult {
	t.Helper()
	res, err := s.Verify(ctx(t), 0, 0)
	if err != nil {
		t.Fatalf("verify: %v", err)
	}
	return res
}

func wantBreak(t *testing.T, s Store, pos int64) {
	t.Helper()
	res := mustVerify(t, s)
	if res.Broken == nil {
		t.Fatalf("verify passed a tampered log; want a break at %d", pos)
	}
	if res.Broken.Position != pos {
		t.Fatalf("break at %d (%s), want %d", res.Broken.Position, res.Broken.Reason, pos)
	}
	t.Logf("detected: %v", res.Broken)
}

// testChainIntact also recomputes every hash independently, exactly as
// the README tells an auditor to.
func testChainIntact(t *testing.T, h Harness) {
	recs := fiveEvents(t, h.Store)
	res := mustVerify(t, h.Store)
	if res.Broken != nil || res.Checked != 5 || res.To != 5 || !bytes.Equal(res.HeadHash, recs[4].Hash) {
		t.Fatalf("verify = %+v; want 5 checked, intact, head hash of position 5", res)
	}
	part, err := h.Store.Verify(ctx(t), 2, 4)
	if err != nil || part.Broken != nil || part.Checked != 3 {
		t.Fatalf("verify 2..4 = %+v, %v; want 3 checked, intact", part, err)
	}
	stored, err := h.Store.ReadAll(ctx(t), 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	prev := make([]byte, 32)
	for _, r := range stored {
		row := map[string]any{
			"position":      r.Position,
			"streamId":      r.StreamID,
			"streamVersion": r.StreamVersion,
			"eventId":       r.EventID.String(),
			"type":          r.Type,
			"data":          json.RawMessage(r.Data),
			"metadata":      json.RawMessage(r.Metadata),
			"recordedAt":    r.RecordedAt.UTC().Format("2006-01-02T15:04:05.000000Z"),
		}
		raw, _ := json.Marshal(row)
		canon, err := jcs.Transform(raw)
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(append(append([]byte{}, prev...), canon...))
		if !bytes.Equal(r.PrevHash, prev) || !bytes.Equal(r.Hash, sum[:]) {
			t.Fatalf("position %d: stored hash differs from the documented recomputation", r.Position)
		}
		prev = r.Hash
	}
}

func testChainModified(t *testing.T, h Harness) {
	fiveEvents(t, h.Store)
	h.Tamper.SetData(t, 3, `{"i": 2, "reason": "nothing to see"}`)
	wantBreak(t, h.Store, 3)
}

func testChainDeleted(t *testing.T, h Harness) {
	fiveEvents(t, h.Store)
	h.Tamper.Delete(t, 3)
	wantBreak(t, h.Store, 3)
}

func testChainInserted(t *testing.T, h Harness) {
	recs := fiveEvents(t, h.Store)
	forged := recs[4]
	forged.Position = 6
	forged.StreamVersion = 99
	forged.EventID = uuid.New()
	forged.Data = json.RawMessage(`{"forged": true}`)
	forged.PrevHash = recs[4].Hash
	forged.Hash = bytes.Repeat([]byte{7}, 32)
	h.Tamper.Insert(t, forged)
	wantBreak(t, h.Store, 6)

	// A row slipped in past a gap is caught as a missing position.
	h2 := recs[4]
	h2.Position, h2.StreamVersion, h2.EventID = 9, 100, uuid.New()
	h.Tamper.Insert(t, h2)
	res, err := h.Store.Verify(ctx(t), 6, 0)
	if err != nil || res.Broken == nil {
		t.Fatalf("verify from 6 = %+v, %v; want a break", res, err)
	}
}

func testChainReordered(t *testing.T, h Harness) {
	fiveEvents(t, h.Store)
	h.Tamper.Swap(t, 2, 4)
	wantBreak(t, h.Store, 2)
}

func testAppendOnly(t *testing.T, h Harness) {
	recs := fiveEvents(t, h.Store)
	for name, try := range map[string]func() error{
		"update":   func() error { return h.Tamper.TryUpdate(t, 2) },
		"delete":   func() error { return h.Tamper.TryDelete(t, 2) },
		"truncate": func() error { return h.Tamper.TryTruncate(t) },
	} {
		if err := try(); err == nil {
			t.Errorf("%s of events succeeded; want it rejected", name)
		}
	}
	res := mustVerify(t, h.Store)
	if res.Broken != nil || res.Checked != 5 || !bytes.Equal(res.HeadHash, recs[4].Hash) {
		t.Errorf("after rejected changes verify = %+v; want the log untouched", res)
	}
}
