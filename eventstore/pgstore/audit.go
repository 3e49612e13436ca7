package pgstore

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/sessiond/sessiond/eventstore"
)

// auditDialect spells audit queries for PostgreSQL.
var auditDialect = eventstore.AuditDialect{
	Columns:   columns,
	Placehold: func(n int) string { return fmt.Sprintf("$%d", n) },
	JSONText: func(col, path string) string {
		parts := strings.Split(path, ".")
		if len(parts) == 1 {
			return col + "->>'" + parts[0] + "'"
		}
		return col + "->'" + strings.Join(parts[:len(parts)-1], "'->'") + "'->>'" + parts[len(parts)-1] + "'"
	},
	Time:    func(t time.Time) any { return t },
	NoLimit: nil, // LIMIT NULL: all
}

// Query streams the events that match f to fn, in position order, without
// buffering them: memory stays flat however many match. fn's error stops
// the query and is returned.
func (s *Store) Query(ctx context.Context, f eventstore.Filter, fn func(*eventstore.Recorded) error) error {
	q, args := eventstore.AuditSQL(auditDialect, f)
	rows, err := s.pool.Query(ctx, q, args...)
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
