package pgstore

import (
	"context"
	"fmt"
	"time"

	"github.com/sessiond/sessiond/eventstore"
)

const sqlAudit = `SELECT ` + columns + ` FROM events
WHERE position > $1
  AND ($2 = '' OR data->>'userId' = $2)
  AND ($3 = '' OR data->>'sessionId' = $3)
  AND ($4 = '' OR type = $4)
  AND ($5 = '' OR metadata->'actor'->>'keyId' = $5 OR metadata->'actor'->>'keyName' = $5)
  AND ($6::timestamptz IS NULL OR recorded_at >= $6)
  AND ($7::timestamptz IS NULL OR recorded_at < $7)
ORDER BY position
LIMIT $8`

// Query streams the events that match f to fn, in position order, without
// buffering them: memory stays flat however many match. fn's error stops
// the query and is returned.
func (s *Store) Query(ctx context.Context, f eventstore.Filter, fn func(*eventstore.Recorded) error) error {
	var limit *int
	if f.Limit > 0 {
		limit = &f.Limit
	}
	rows, err := s.pool.Query(ctx, sqlAudit, f.AfterPosition, f.UserID, f.SessionID, f.Type, f.Actor,
		optionalTime(f.From), optionalTime(f.To), limit)
	if err != nil {
		return classify(err, nil)
	}
	defer rows.Close()
	for rows.Next() {
		r, err := scanRecorded(rows)
		if err != nil {
			return fmt.Errorf("audit query: %w", err)
		}
		if err := fn(&r); err != nil {
			return err
		}
	}
	return classify(rows.Err(), nil)
}

func optionalTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}
