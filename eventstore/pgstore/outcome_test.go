package pgstore_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/sessiond/sessiond/eventstore"
	"github.com/sessiond/sessiond/eventstore/pgstore"
	"github.com/sessiond/sessiond/projections"
)

// slowCommit makes every COMMIT that inserted events take a while: a
// deferred constraint trigger sleeps at commit time.
func slowCommit(t *testing.T, exec func(string) error, sleep time.Duration) {
	t.Helper()
	for _, q := range []string{
		fmt.Sprintf(`CREATE FUNCTION test_slow_commit() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN PERFORM pg_sleep(%f); RETURN NULL; END $$`, sleep.Seconds()),
		`CREATE CONSTRAINT TRIGGER test_slow_commit AFTER INSERT ON events
DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION test_slow_commit()`,
	} {
		if err := exec(q); err != nil {
			t.Fatal(err)
		}
	}
}

// TestDeadlineDuringCommit: when the transaction's deadline passes while
// COMMIT is under way, the append reports ErrOutcomeUnknown, not
// ErrUnavailable ("nothing was recorded"): the client cannot know whether
// the server committed. (Here pgx's cancel request makes it roll back; had
// the network failed instead, it would have committed.)
func TestDeadlineDuringCommit(t *testing.T) {
	pool, _, _ := mustOpenStore(t)
	// The deadline leaves the work before COMMIT 2 s, time enough on a
	// loaded machine, and passes during the 3 s COMMIT.
	slowCommit(t, func(q string) error { _, err := pool.Exec(context.Background(), q); return err }, 3*time.Second)
	store := pgstore.New(pool, pgstore.Options{Projector: projections.Project, TxTimeout: 2 * time.Second})
	t.Cleanup(func() { store.Close() })

	_, err := store.Append(context.Background(), eventstore.StreamAppend{StreamID: "slow-1",
		Events: []eventstore.Proposed{{Type: "T", Data: json.RawMessage(`{}`)}}})
	if !errors.Is(err, eventstore.ErrOutcomeUnknown) || errors.Is(err, eventstore.ErrUnavailable) {
		t.Fatalf("deadline during COMMIT = %v, want ErrOutcomeUnknown (and not ErrUnavailable)", err)
	}
}
