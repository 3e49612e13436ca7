package storetest

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/sessiond/sessiond/eventstore"
)

// chainAfter builds n recorded events continuing from (pos, hash), as
// another store would have recorded them.
func chainAfter(pos int64, hash []byte, n int) []eventstore.Recorded {
	at := eventstore.NormalizeTime(time.Now().Add(time.Minute))
	var out []eventstore.Recorded
	for i := range n {
		pos++
		r := eventstore.Recorded{Position: pos, StreamID: "imported", StreamVersion: int64(i + 1), EventID: uuid.New(),
			Type: "T", Data: []byte(`{"imported":true}`), Metadata: []byte(`{"requestId":"elsewhere"}`), RecordedAt: at, PrevHash: hash}
		r.Hash = eventstore.ComputeHashCanonical(hash, &r)
		hash = r.Hash
		out = append(out, r)
	}
	return out
}

// testImport: Import keeps positions, times and hashes verbatim, refuses
// events that do not continue the log, and appends carry on after it.
func testImport(t *testing.T, h Harness) {
	recs := fiveEvents(t, h.Store)
	if err := h.Store.Import(ctx(t), recs[3:]); !errors.Is(err, eventstore.ErrImportGap) {
		t.Errorf("re-importing positions 4-5: %v; want ErrImportGap", err)
	}
	wrongLink := chainAfter(5, bytes.Repeat([]byte{7}, 32), 2)
	if err := h.Store.Import(ctx(t), wrongLink); !errors.Is(err, eventstore.ErrImportGap) {
		t.Errorf("import linking to a foreign hash: %v; want ErrImportGap", err)
	}
	more := chainAfter(5, recs[4].Hash, 3)
	if err := h.Store.Import(ctx(t), more); err != nil {
		t.Fatalf("import: %v", err)
	}
	got, err := h.Store.ReadAll(ctx(t), 5, 100)
	if err != nil || len(got) != 3 {
		t.Fatalf("read after import: %d, %v", len(got), err)
	}
	for i, r := range got {
		w := more[i]
		if r.Position != w.Position || r.EventID != w.EventID || !bytes.Equal(r.Hash, w.Hash) ||
			!bytes.Equal(r.PrevHash, w.PrevHash) || !r.RecordedAt.Equal(w.RecordedAt) {
			t.Errorf("imported %d came back as %+v", w.Position, r)
		}
	}
	// The writer continues after the imported head, on the chain.
	next := mustAppend(t, h.Store, one("after-import", 0, ev("T", nil)))
	if next[0].Position != 9 || !bytes.Equal(next[0].PrevHash, more[2].Hash) {
		t.Errorf("append after import at %d prev %x; want 9 after %x", next[0].Position, next[0].PrevHash, more[2].Hash)
	}
	if next[0].RecordedAt.Before(more[2].RecordedAt) {
		t.Errorf("recorded_at went back after import: %v < %v", next[0].RecordedAt, more[2].RecordedAt)
	}
	if res := mustVerify(t, h.Store); res.Broken != nil || res.Checked != 9 {
		t.Errorf("verify after import = %+v", res)
	}
	if err := h.Store.Import(ctx(t), nil); err != nil {
		t.Errorf("empty import: %v", err)
	}
}
