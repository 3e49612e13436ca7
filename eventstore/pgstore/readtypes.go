package pgstore

import (
	"context"
	"fmt"

	"github.com/sessiond/sessiond/eventstore"
)

// sqlReadTypes reads events of some types after a position: one index probe
// on (type, position) per type, whatever the planner thinks of the table.
const sqlReadTypes = `SELECT e.* FROM unnest($1::text[]) AS t(type)
CROSS JOIN LATERAL (SELECT ` + columns + ` FROM events
  WHERE type = t.type AND position > $2 ORDER BY position LIMIT $3) e
ORDER BY e.position LIMIT $3`

// ReadTypes returns up to limit events of the given types with position >
// after, in position order. Like ReadAll, a reader that resumes after the
// last position it saw never misses an event.
func (s *Store) ReadTypes(ctx context.Context, after int64, types []string, limit int) ([]eventstore.Recorded, error) {
	if limit <= 0 {
		limit = 1000
	}
	rows, err := s.pool.Query(ctx, sqlReadTypes, types, after, limit)
	if err != nil {
		return nil, classify(err, nil)
	}
	recs, err := collect(rows)
	if err != nil {
		return nil, classify(fmt.Errorf("read types %v after %d: %w", types, after, err), nil)
	}
	return recs, nil
}
