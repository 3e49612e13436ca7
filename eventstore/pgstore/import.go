package pgstore

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/sessiond/sessiond/eventstore"
)

// Import appends already-recorded events verbatim (positions, times and
// hashes kept), with their read-model updates, in one transaction under
// the append lock. They must continue the log: the first position is
// head+1 and links to the head's hash; otherwise it returns
// eventstore.ErrImportGap. The writer notices the moved head by its guard.
func (s *Store) Import(ctx context.Context, recs []eventstore.Recorded) error {
	if len(recs) == 0 {
		return nil
	}
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return classify(err, nil)
	}
	defer tx.Rollback(ctx) //nolint:errcheck // a no-op after Commit
	if _, err := tx.Exec(ctx, sqlLock, appendLockKey); err != nil {
		return classify(err, nil)
	}
	head, hash := int64(0), eventstore.GenesisHash
	err = tx.QueryRow(ctx, `SELECT position, hash FROM events ORDER BY position DESC LIMIT 1`).Scan(&head, &hash)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return classify(err, nil)
	}
	if err := eventstore.CheckContinues(recs[0], head, hash); err != nil {
		return err
	}
	b := &pgx.Batch{}
	b.Queue(sqlInsert, insertArgs(recs)...)
	if s.opts.Projector != nil {
		stmts, err := s.opts.Projector(recs)
		if err != nil {
			return fmt.Errorf("import: project: %w", err)
		}
		for _, st := range stmts {
			b.Queue(st.SQL, st.Args...)
		}
	}
	if err := tx.SendBatch(ctx, b).Close(); err != nil {
		return classify(err, nil)
	}
	if err := tx.Commit(ctx); err != nil {
		return classify(err, nil)
	}
	s.Notify()
	return nil
}
