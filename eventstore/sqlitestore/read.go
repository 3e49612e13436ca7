package sqlitestore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/sessiond/sessiond/eventstore"
)

const columns = `position, stream_id, stream_version, event_id, type, data, metadata, recorded_at, prev_hash, hash`

// ReadStream returns every event of a stream, oldest first.
func (s *Store) ReadStream(ctx context.Context, streamID string) ([]eventstore.Recorded, error) {
	return s.query(ctx, `SELECT `+columns+` FROM events WHERE stream_id = ? ORDER BY stream_version`, streamID)
}

// ReadEvent returns the event with the given id, or nil if the log has
// none.
func (s *Store) ReadEvent(ctx context.Context, id uuid.UUID) (*eventstore.Recorded, error) {
	recs, err := s.query(ctx, `SELECT `+columns+` FROM events WHERE event_id = ?`, id.String())
	if err != nil || len(recs) == 0 {
		return nil, err
	}
	return &recs[0], nil
}

// ReadAll returns up to limit events with position > after, in position
// order.
func (s *Store) ReadAll(ctx context.Context, after int64, limit int) ([]eventstore.Recorded, error) {
	if limit <= 0 {
		limit = 1000
	}
	return s.query(ctx, `SELECT `+columns+` FROM events WHERE position > ? ORDER BY position LIMIT ?`, after, limit)
}

// Head returns the position and hash of the newest event; 0 and the
// genesis hash for an empty log.
func (s *Store) Head(ctx context.Context) (int64, []byte, error) {
	var (
		pos  int64
		hash []byte
	)
	err := s.db.QueryRowContext(ctx, `SELECT position, hash FROM events ORDER BY position DESC LIMIT 1`).Scan(&pos, &hash)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, eventstore.GenesisHash, nil
	}
	if err != nil {
		return 0, nil, Classify(err)
	}
	return pos, hash, nil
}

// LoadCheckpoint returns the position a consumer saved, or 0.
func (s *Store) LoadCheckpoint(ctx context.Context, name string) (int64, error) {
	var pos int64
	err := s.db.QueryRowContext(ctx, `SELECT position FROM checkpoints WHERE name = ?`, name).Scan(&pos)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	return pos, Classify(err)
}

// SaveCheckpoint records that consumer name has handled every event up to
// position. Checkpoints only move forward: saving a position at or below
// the stored one (an old relay leader writing late) changes nothing.
func (s *Store) SaveCheckpoint(ctx context.Context, name string, position int64) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO checkpoints (name, position, updated_at) VALUES (?1, ?2, ?3)
ON CONFLICT (name) DO UPDATE SET position = excluded.position, updated_at = excluded.updated_at
WHERE checkpoints.position < excluded.position`,
		name, position, time.Now().UTC().Format(eventstore.TimeFormat))
	return Classify(err)
}

func (s *Store) query(ctx context.Context, q string, args ...any) ([]eventstore.Recorded, error) {
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, Classify(err)
	}
	defer rows.Close()
	var out []eventstore.Recorded
	for rows.Next() {
		r, err := scanRecorded(rows)
		if err != nil {
			return nil, Classify(err)
		}
		out = append(out, r)
	}
	return out, Classify(rows.Err())
}

type scanner interface{ Scan(dest ...any) error }

func scanRecorded(row scanner) (eventstore.Recorded, error) {
	var (
		r          eventstore.Recorded
		id, at     string
		data, meta string
	)
	if err := row.Scan(&r.Position, &r.StreamID, &r.StreamVersion, &id, &r.Type, &data, &meta, &at, &r.PrevHash, &r.Hash); err != nil {
		return r, err
	}
	var err error
	if r.EventID, err = uuid.Parse(id); err != nil {
		return r, fmt.Errorf("position %d: event id %q: %w", r.Position, id, err)
	}
	if r.RecordedAt, err = time.Parse(eventstore.TimeFormat, at); err != nil {
		return r, fmt.Errorf("position %d: recorded_at %q: %w", r.Position, at, err)
	}
	r.Data, r.Metadata = []byte(data), []byte(meta)
	return r, nil
}
