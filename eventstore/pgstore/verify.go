package pgstore

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/sessiond/sessiond/eventstore"
)

// Verify walks the log from position from to position to (inclusive; 0
// means the head when the walk starts) and recomputes the hash chain. It
// streams rows, so memory stays flat however long the log is. A broken
// chain is reported in the result, not as an error.
func (s *Store) Verify(ctx context.Context, from, to int64) (eventstore.VerifyResult, error) {
	if from < 1 {
		from = 1
	}
	if to <= 0 {
		head, _, err := s.Head(ctx)
		if err != nil {
			return eventstore.VerifyResult{}, err
		}
		to = head
	}
	prev := eventstore.GenesisHash
	query := `SELECT ` + columns + ` FROM events WHERE position <= $1 ORDER BY position`
	args := []any{to}
	if from > 1 {
		err := s.pool.QueryRow(ctx, `SELECT hash FROM events WHERE position = $1`, from-1).Scan(&prev)
		if errors.Is(err, pgx.ErrNoRows) {
			return eventstore.VerifyResult{From: from, Broken: &eventstore.Break{
				Position: from - 1, Reason: fmt.Sprintf("position %d is missing", from-1)}}, nil
		}
		if err != nil {
			return eventstore.VerifyResult{}, classify(err, nil)
		}
		query = `SELECT ` + columns + ` FROM events WHERE position >= $2 AND position <= $1 ORDER BY position`
		args = append(args, from)
	}
	w := eventstore.NewChainWalker(from, prev)
	rows, err := s.pool.Query(ctx, query, args...)
	if err != nil {
		return eventstore.VerifyResult{}, classify(err, nil)
	}
	defer rows.Close()
	for rows.Next() {
		r, err := scanRecorded(rows)
		if err != nil {
			return eventstore.VerifyResult{}, fmt.Errorf("verify: %w", err)
		}
		if w.Step(&r) != nil {
			rows.Close()
			return w.Finish(to), nil
		}
	}
	if err := rows.Err(); err != nil {
		return eventstore.VerifyResult{}, classify(err, nil)
	}
	return w.Finish(to), nil
}
