package pgstore_test

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sessiond/sessiond/eventstore"
	"github.com/sessiond/sessiond/eventstore/pgstore"
	"github.com/sessiond/sessiond/internal/waitfor"
)

// TestAdminKeyNotify: committing an admin key event notifies
// pgstore.AdminKeysChannel with its position, other events do not, Listen
// wakes on it, and ReadTypes returns only the asked types.
func TestAdminKeyNotify(t *testing.T) {
	pool, store, _ := mustOpenStore(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	raw, err := pgx.ConnectConfig(ctx, pool.Config().ConnConfig.Copy())
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close(context.Background())
	if _, err := raw.Exec(ctx, "LISTEN "+pgstore.AdminKeysChannel); err != nil {
		t.Fatal(err)
	}
	var wakes atomic.Int64
	lctx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		store.Listen(lctx, pgstore.AdminKeysChannel, func() { wakes.Add(1) }, 10*time.Millisecond, slog.Default())
	}()
	defer func() { stop(); <-done }()
	waitfor.Cond(t, 10*time.Second, func() error { // the wake after connecting
		if wakes.Load() < 1 {
			return fmt.Errorf("not listening yet")
		}
		return nil
	})

	other := eventstore.StreamAppend{StreamID: "session-n1", Events: []eventstore.Proposed{{Type: "SessionStarted", Data: []byte(`{"sessionId":"n1"}`)}}}
	key := eventstore.StreamAppend{StreamID: "adminkey-k1", Events: []eventstore.Proposed{{Type: "AdminKeyCreated", Data: []byte(`{"keyId":"k1"}`)}}}
	if _, err := store.Append(ctx, other); err != nil {
		t.Fatal(err)
	}
	recs, err := store.Append(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	n, err := raw.WaitForNotification(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := n.Payload, strconv.FormatInt(recs[0].Position, 10); got != want {
		t.Errorf("first notification names position %s; want %s (the key event's, not the session's)", got, want)
	}
	waitfor.Cond(t, 10*time.Second, func() error {
		if wakes.Load() < 2 {
			return fmt.Errorf("Listen did not wake after the key event")
		}
		return nil
	})
	got, err := store.ReadTypes(ctx, 0, []string{"AdminKeyCreated", "AdminKeyRevoked"}, 10)
	if err != nil || len(got) != 1 || got[0].Position != recs[0].Position {
		t.Fatalf("ReadTypes = %+v, %v; want the one key event", got, err)
	}
	if got, err := store.ReadTypes(ctx, recs[0].Position, []string{"AdminKeyCreated"}, 10); err != nil || len(got) != 0 {
		t.Fatalf("ReadTypes after it = %d events, %v; want none", len(got), err)
	}
}
