package pgstore_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sessiond/sessiond/eventstore"
	"github.com/sessiond/sessiond/eventstore/pgstore"
	"github.com/sessiond/sessiond/internal/waitfor"
	"github.com/sessiond/sessiond/projections"
)

// appendLockKey is pgstore's append lock (pg_advisory_xact_lock).
const appendLockKey int64 = 0x5e55_10d0_0000_0002

// TestPipelineFailedBatch: the writer sends batch n+1 while batch n waits
// for the append lock, planned to follow n's last event. Batch n's
// connection is killed, and before n+1 gets the lock another writer
// appends as many events as n had, so the log ends at the very position
// n+1 was planned on, with another hash. Batch n+1 must not commit there
// (a dangling prev_hash): its guard refuses it, it is planned again from
// the log and commits after the other writer's event. Nothing acknowledged
// is lost, the one killed append is reported as such, and the chain
// verifies.
func TestPipelineFailedBatch(t *testing.T) {
	pool, store, _ := mustOpenStore(t)
	second := pgstore.New(pool, pgstore.Options{Projector: projections.Project, Queries: projections.Queries})
	t.Cleanup(func() { second.Close() })
	ctx := context.Background()
	event := func(stream string) eventstore.StreamAppend {
		return eventstore.StreamAppend{StreamID: stream, ExpectedVersion: 0,
			Events: []eventstore.Proposed{{Type: "T", Data: json.RawMessage(`{}`)}}}
	}
	if _, err := store.Append(ctx, event("first")); err != nil { // the writer now knows the head
		t.Fatal(err)
	}

	// The blocker and the observer have connections of their own: the
	// pool's four are held by the appends.
	watch := connect(t, pool)
	blocker := lockAppends(t, connect(t, pool))
	type result struct {
		recs []eventstore.Recorded
		err  error
	}
	appendAsync := func(s *pgstore.Store, stream string) chan result {
		ch := make(chan result, 1)
		go func() {
			recs, err := s.Append(ctx, event(stream))
			ch <- result{recs, err}
		}()
		return ch
	}
	a := appendAsync(store, "a") // batch n
	waitLockWaiters(t, watch, 1)
	var pidA int
	if err := watch.QueryRow(ctx, `SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND NOT granted`).Scan(&pidA); err != nil {
		t.Fatal(err)
	}
	x := appendAsync(second, "x") // the other writer, queued before n+1
	waitLockWaiters(t, watch, 2)
	b := appendAsync(store, "b") // batch n+1, planned on n's last event
	waitLockWaiters(t, watch, 3)

	if _, err := watch.Exec(ctx, `SELECT pg_terminate_backend($1)`, pidA); err != nil {
		t.Fatal(err)
	}
	waitLockWaiters(t, watch, 2)
	if err := blocker.Commit(ctx); err != nil {
		t.Fatal(err)
	}

	ra, rx, rb := <-a, <-x, <-b
	if rx.err != nil || rb.err != nil {
		t.Fatalf("other writer: %v; batch n+1: %v; want both recorded", rx.err, rb.err)
	}
	if !errors.Is(ra.err, eventstore.ErrUnavailable) && !errors.Is(ra.err, eventstore.ErrOutcomeUnknown) {
		t.Fatalf("killed batch n: %v, want ErrUnavailable or ErrOutcomeUnknown", ra.err)
	}
	if rb.recs[0].Position != rx.recs[0].Position+1 || string(rb.recs[0].PrevHash) != string(rx.recs[0].Hash) {
		t.Errorf("batch n+1 at %d after %d: does not follow the other writer's event", rb.recs[0].Position, rx.recs[0].Position)
	}
	streams := map[string]int{}
	rows, _ := pool.Query(ctx, `SELECT stream_id FROM events ORDER BY position`)
	var id string
	if _, err := pgx.ForEachRow(rows, []any{&id}, func() error { streams[id]++; return nil }); err != nil {
		t.Fatal(err)
	}
	if streams["x"] != 1 || streams["b"] != 1 || streams["first"] != 1 {
		t.Errorf("recorded %v: an acknowledged append is missing", streams)
	}
	if errors.Is(ra.err, eventstore.ErrUnavailable) && streams["a"] != 0 {
		t.Errorf("batch n reported ErrUnavailable but is recorded")
	}
	res, err := store.Verify(ctx, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if res.Broken != nil {
		t.Fatalf("hash chain broken at %+v", *res.Broken)
	}
	if _, err := store.Append(ctx, event("after")); err != nil {
		t.Fatalf("append after the failure: %v", err)
	}
}

// connect opens a connection of its own to pool's database.
func connect(t *testing.T, pool *pgxpool.Pool) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), pool.Config().ConnString())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

// lockAppends holds the append lock in a transaction until the caller
// commits it.
func lockAppends(t *testing.T, conn *pgx.Conn) pgx.Tx {
	t.Helper()
	tx, err := conn.Begin(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tx.Rollback(context.Background()) })
	if _, err := tx.Exec(context.Background(), `SELECT pg_advisory_xact_lock($1)`, appendLockKey); err != nil {
		t.Fatal(err)
	}
	return tx
}

// waitLockWaiters waits until n transactions wait for an advisory lock.
func waitLockWaiters(t *testing.T, conn *pgx.Conn, n int) {
	t.Helper()
	waitfor.Cond(t, 20*time.Second, func() error {
		var got int
		if err := conn.QueryRow(context.Background(), `SELECT count(*) FROM pg_locks
WHERE locktype = 'advisory' AND NOT granted AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`).Scan(&got); err != nil {
			return err
		}
		if got != n {
			return fmt.Errorf("%d waiting for the append lock, want %d", got, n)
		}
		return nil
	})
}
