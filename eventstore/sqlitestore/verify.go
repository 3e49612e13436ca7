package sqlitestore

import (
	"context"
	"fmt"

	"github.com/sessiond/sessiond/eventstore"
)

// rebuildBatch is how many events Rebuild reads at a time.
const rebuildBatch = 1000

// Verify walks the log from position from to position to (inclusive; 0
// means the head) and recomputes the hash chain: eventstore.VerifyLog.
func (s *Store) Verify(ctx context.Context, from, to int64) (eventstore.VerifyResult, error) {
	return eventstore.VerifyLog(ctx, s, from, to)
}

// Rebuild empties the given read-model tables and replays the whole log
// through the store's Projector in one IMMEDIATE transaction (appends
// wait), so the result is exactly what the inline updates built. It
// returns the number of events replayed.
func (s *Store) Rebuild(ctx context.Context, tables []string) (int64, error) {
	if s.opts.Projector == nil {
		return 0, fmt.Errorf("rebuild: the store has no projector")
	}
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return 0, Classify(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, `BEGIN IMMEDIATE`); err != nil {
		return 0, Classify(err)
	}
	committed := false
	defer func() {
		if !committed {
			_, _ = conn.ExecContext(context.Background(), `ROLLBACK`)
		}
	}()
	for _, t := range tables {
		if _, err := conn.ExecContext(ctx, `DELETE FROM "`+t+`"`); err != nil {
			return 0, fmt.Errorf("rebuild: empty %s: %w", t, err)
		}
	}
	var after, n int64
	for {
		rows, err := conn.QueryContext(ctx, `SELECT `+columns+` FROM events WHERE position > ? ORDER BY position LIMIT ?`, after, rebuildBatch)
		if err != nil {
			return n, Classify(err)
		}
		var recs []eventstore.Recorded
		for rows.Next() {
			r, err := scanRecorded(rows)
			if err != nil {
				rows.Close()
				return n, err
			}
			recs = append(recs, r)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return n, Classify(err)
		}
		if len(recs) == 0 {
			break
		}
		if err := s.project(ctx, conn, recs); err != nil {
			return n, fmt.Errorf("rebuild after %d: %w", after, err)
		}
		after = recs[len(recs)-1].Position
		n += int64(len(recs))
	}
	if _, err := conn.ExecContext(ctx, `COMMIT`); err != nil {
		return n, Classify(err)
	}
	committed = true
	return n, nil
}
