package pgstore_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/sessiond/sessiond/eventstore"
	"github.com/sessiond/sessiond/eventstore/pgstore"
	"github.com/sessiond/sessiond/projections"
)

// TestFastAppendAfterLostTail: the database loses the last event a writer
// committed (a failover to a standby that had not received it, a restore),
// another writer refills that position with a different event, and the
// first writer appends again from the head it remembers. Its single
// round-trip guard must see that the event at the remembered position is
// not the one it chained onto (the hash, not only the position), fall back
// to reading the head, and keep the chain whole.
func TestFastAppendAfterLostTail(t *testing.T) {
	pool, a, _ := mustOpenStore(t)
	b := pgstore.New(pool, pgstore.Options{Projector: projections.Project, Queries: projections.Queries})
	t.Cleanup(func() { b.Close() })
	ctx := context.Background()
	appendOne := func(s *pgstore.Store, stream string) {
		t.Helper()
		if _, err := s.Append(ctx, eventstore.StreamAppend{StreamID: stream,
			Events: []eventstore.Proposed{{Type: "T", Data: json.RawMessage(`{}`)}}}); err != nil {
			t.Fatal(err)
		}
	}
	appendOne(a, "a-1")
	appendOne(a, "a-2")
	// Lose position 2 behind the append-only triggers' back, as a lossy
	// failover would.
	tx, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{`SET LOCAL session_replication_role = replica`, `DELETE FROM events WHERE position = 2`} {
		if _, err := tx.Exec(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	appendOne(b, "b-1") // position 2 again, another event, another hash
	appendOne(a, "a-3") // a still remembers its own position 2
	res, err := a.Verify(ctx, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if res.Broken != nil || res.Checked != 3 {
		t.Fatalf("after a lost tail the chain is broken: %+v (checked %d, want 3 intact)", res.Broken, res.Checked)
	}
}
