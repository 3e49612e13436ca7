package pgstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/sessiond/sessiond/eventstore"
)

const columns = `position, stream_id, stream_version, event_id, type, data, metadata, recorded_at, prev_hash, hash`

// ReadStream returns every event of a stream, oldest first. An unknown
// stream is empty, not an error.
func (s *Store) ReadStream(ctx context.Context, streamID string) ([]eventstore.Recorded, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+columns+` FROM events WHERE stream_id = $1 ORDER BY stream_version`, streamID)
	if err != nil {
		return nil, classify(err, nil)
	}
	recs, err := collect(rows)
	if err != nil {
		return nil, classify(fmt.Errorf("read stream %s: %w", streamID, err), nil)
	}
	return recs, nil
}

// ReadEvent returns the event with the given id, or nil if the log has
// none.
func (s *Store) ReadEvent(ctx context.Context, id uuid.UUID) (*eventstore.Recorded, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+columns+` FROM events WHERE event_id = $1`, pgtype.UUID{Bytes: id, Valid: true})
	if err != nil {
		return nil, classify(err, nil)
	}
	recs, err := collect(rows)
	if err != nil {
		return nil, classify(fmt.Errorf("read event %s: %w", id, err), nil)
	}
	if len(recs) == 0 {
		return nil, nil
	}
	return &recs[0], nil
}

// ReadAll returns up to limit events with position > after, in position
// order. Because positions follow commit order, a reader that resumes
// after the last position it saw never misses an event.
func (s *Store) ReadAll(ctx context.Context, after int64, limit int) ([]eventstore.Recorded, error) {
	if limit <= 0 {
		limit = 1000
	}
	rows, err := s.pool.Query(ctx, `SELECT `+columns+` FROM events WHERE position > $1 ORDER BY position LIMIT $2`, after, limit)
	if err != nil {
		return nil, classify(err, nil)
	}
	recs, err := collect(rows)
	if err != nil {
		return nil, classify(fmt.Errorf("read all after %d: %w", after, err), nil)
	}
	return recs, nil
}

// Head returns the position and hash of the newest event; 0 and the
// genesis hash for an empty log.
func (s *Store) Head(ctx context.Context) (int64, []byte, error) {
	var (
		pos  int64
		hash []byte
	)
	err := s.pool.QueryRow(ctx, `SELECT position, hash FROM events ORDER BY position DESC LIMIT 1`).Scan(&pos, &hash)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, eventstore.GenesisHash, nil
	}
	if err != nil {
		return 0, nil, classify(err, nil)
	}
	return pos, hash, nil
}

// LoadCheckpoint returns the position a consumer saved, or 0.
func (s *Store) LoadCheckpoint(ctx context.Context, name string) (int64, error) {
	var pos int64
	err := s.pool.QueryRow(ctx, `SELECT position FROM checkpoints WHERE name = $1`, name).Scan(&pos)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, classify(err, nil)
	}
	return pos, nil
}

// SaveCheckpoint records that consumer name has handled every event up to
// position. Checkpoints only move forward: saving a position at or below
// the stored one (an old relay leader writing late) changes nothing.
func (s *Store) SaveCheckpoint(ctx context.Context, name string, position int64) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO checkpoints (name, position, updated_at) VALUES ($1, $2, now())
ON CONFLICT (name) DO UPDATE SET position = EXCLUDED.position, updated_at = EXCLUDED.updated_at
WHERE checkpoints.position < EXCLUDED.position`, name, position)
	if err != nil {
		return classify(err, nil)
	}
	return nil
}

func collect(rows pgx.Rows) ([]eventstore.Recorded, error) {
	defer rows.Close()
	var out []eventstore.Recorded
	for rows.Next() {
		r, err := scanRecorded(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

func scanRecorded(row pgx.Row) (eventstore.Recorded, error) {
	var (
		r  eventstore.Recorded
		id pgtype.UUID
		at time.Time
	)
	err := row.Scan(&r.Position, &r.StreamID, &r.StreamVersion, &id, &r.Type, &r.Data, &r.Metadata, &at, &r.PrevHash, &r.Hash)
	if err != nil {
		return r, err
	}
	r.EventID = id.Bytes
	r.RecordedAt = at.UTC()
	return r, nil
}
