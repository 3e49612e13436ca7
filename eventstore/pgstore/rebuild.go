package pgstore

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// rebuildBatch is how many events a rebuild reads at a time.
const rebuildBatch = 1000

// Rebuild empties the given read-model tables and replays the whole log
// through the store's Projector, in one transaction that holds the append
// lock, so the result is exactly what the inline updates would have built.
// It returns the number of events replayed.
func (s *Store) Rebuild(ctx context.Context, tables []string) (int64, error) {
	if s.opts.Projector == nil {
		return 0, fmt.Errorf("rebuild: the store has no projector")
	}
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return 0, classify(err, nil)
	}
	defer tx.Rollback(ctx) //nolint:errcheck // a no-op after Commit
	if _, err := tx.Exec(ctx, sqlLock, appendLockKey); err != nil {
		return 0, classify(err, nil)
	}
	for _, t := range tables {
		if _, err := tx.Exec(ctx, `TRUNCATE `+pgx.Identifier{t}.Sanitize()); err != nil {
			return 0, fmt.Errorf("rebuild: truncate %s: %w", t, err)
		}
	}
	var after, n int64
	for {
		rows, err := tx.Query(ctx, `SELECT `+columns+` FROM events WHERE position > $1 ORDER BY position LIMIT $2`, after, rebuildBatch)
		if err != nil {
			return n, classify(err, nil)
		}
		recs, err := collect(rows)
		if err != nil {
			return n, fmt.Errorf("rebuild: read after %d: %w", after, err)
		}
		if len(recs) == 0 {
			break
		}
		stmts, err := s.opts.Projector(recs)
		if err != nil {
			return n, fmt.Errorf("rebuild: %w", err)
		}
		b := &pgx.Batch{}
		for _, st := range stmts {
			b.Queue(st.SQL, st.Args...)
		}
		if err := tx.SendBatch(ctx, b).Close(); err != nil {
			return n, fmt.Errorf("rebuild: apply after %d: %w", after, err)
		}
		after = recs[len(recs)-1].Position
		n += int64(len(recs))
	}
	if err := tx.Commit(ctx); err != nil {
		return n, classify(err, nil)
	}
	return n, nil
}
