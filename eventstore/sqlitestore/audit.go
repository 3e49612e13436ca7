package sqlitestore

import (
	"context"
	"fmt"
	"time"

	"github.com/sessiond/sessiond/eventstore"
)

const sqlAudit = `SELECT ` + columns + ` FROM events
WHERE position > ?1
  AND (?2 = '' OR data ->> '$.userId' = ?2)
  AND (?3 = '' OR data ->> '$.sessionId' = ?3)
  AND (?4 = '' OR type = ?4)
  AND (?5 = '' OR metadata ->> '$.actor.keyId' = ?5 OR metadata ->> '$.actor.keyName' = ?5)
  AND (?6 = '' OR recorded_at >= ?6)
  AND (?7 = '' OR recorded_at < ?7)
ORDER BY position
LIMIT ?8`

// Query streams the events that match f to fn, in position order, without
// buffering them. fn's error stops the query and is returned.
func (s *Store) Query(ctx context.Context, f eventstore.Filter, fn func(*eventstore.Recorded) error) error {
	limit := int64(-1) // SQLite: no limit
	if f.Limit > 0 {
		limit = int64(f.Limit)
	}
	rows, err := s.db.QueryContext(ctx, sqlAudit, f.AfterPosition, f.UserID, f.SessionID, f.Type, f.Actor,
		timeText(f.From), timeText(f.To), limit)
	if err != nil {
		return Classify(err)
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
	return Classify(rows.Err())
}

func timeText(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(eventstore.TimeFormat)
}
