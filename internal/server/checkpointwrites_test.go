package server_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/sessiond/sessiond/broadcast"
	"github.com/sessiond/sessiond/internal/natstest"
	"github.com/sessiond/sessiond/internal/waitfor"
)

// TestCheckpointsNotPerAppend: the consumers that follow the log (the
// relay and the audit mirror) save their checkpoints at most every
// 250 ms, not after each batch. A save is a durable commit of its own, so
// at one request at a time a save per batch was a second WAL flush per
// append. Counted by a trigger on the checkpoint table over appends made
// one at a time.
func TestCheckpointsNotPerAppend(t *testing.T) {
	ns := natstest.Start(t)
	s := startWithNATS(t, ns)
	key := s.key("ops")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for _, q := range []string{
		`CREATE TABLE checkpoint_writes (name text NOT NULL)`,
		`CREATE FUNCTION count_checkpoint_write() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN INSERT INTO checkpoint_writes VALUES (NEW.name); RETURN NULL; END $$`,
		`CREATE TRIGGER count_checkpoint_write AFTER INSERT OR UPDATE ON checkpoints
FOR EACH ROW EXECUTE FUNCTION count_checkpoint_write()`,
	} {
		if _, err := s.Pool.Exec(ctx, q); err != nil {
			t.Fatal(err)
		}
	}

	const appends = 200
	began := time.Now()
	for i := range appends {
		if r := s.start(key, "alice", fmt.Sprintf("c-%d", i)); r.Status != 201 {
			t.Fatalf("start = %d %s", r.Status, r.Body)
		}
	}
	head := int64(s.count("true"))
	names := []string{broadcast.CheckpointName, broadcast.AuditCheckpointName}
	for _, name := range names {
		waitfor.Cond(t, 20*time.Second, func() error {
			var pos int64
			if err := s.Pool.QueryRow(ctx, `SELECT position FROM checkpoints WHERE name = $1`, name).Scan(&pos); err != nil {
				return err
			}
			if pos != head {
				return fmt.Errorf("%s saved at %d, head %d", name, pos, head)
			}
			return nil
		})
	}
	took := time.Since(began)
	// One save per 250 ms of activity, plus the first and the last.
	bound := int(took/(250*time.Millisecond)) + 3
	for _, name := range names {
		var n int
		if err := s.Pool.QueryRow(ctx, `SELECT count(*) FROM checkpoint_writes WHERE name = $1`, name).Scan(&n); err != nil {
			t.Fatal(err)
		}
		t.Logf("%s: %d checkpoint writes for %d appends in %v", name, n, appends, took.Round(time.Millisecond))
		if n > bound {
			t.Errorf("%s saved its checkpoint %d times for %d appends in %v; at most %d expected (every 250 ms)",
				name, n, appends, took.Round(time.Millisecond), bound)
		}
	}
}
