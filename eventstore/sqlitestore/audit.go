package sqlitestore

import (
	"context"
	"fmt"
	"time"

	"github.com/sessiond/sessiond/eventstore"
)

// auditDialect spells audit queries for SQLite; the JSON paths match the
// expression indexes of migration 00003.
var auditDialect = eventstore.AuditDialect{
	Columns:   columns,
	Placehold: func(n int) string { return fmt.Sprintf("?%d", n) },
	JSONText:  func(col, path string) string { return col + " ->> '$." + path + "'" },
	Time:      func(t time.Time) any { return timeText(t) },
	NoLimit:   -1,
}

// Query streams the events that match f to fn, in position order, without
// buffering them. fn's error stops the query and is returned.
func (s *Store) Query(ctx context.Context, f eventstore.Filter, fn func(*eventstore.Recorded) error) error {
	q, args := eventstore.AuditSQL(auditDialect, f)
	rows, err := s.db.QueryContext(ctx, q, args...)
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
