package sqlitestore

import (
	"context"
	"strings"

	"github.com/sessiond/sessiond/eventstore"
)

// ReadTypes returns up to limit events of the given types with position >
// after, in position order (the index on (type, position) serves it).
func (s *Store) ReadTypes(ctx context.Context, after int64, types []string, limit int) ([]eventstore.Recorded, error) {
	if limit <= 0 {
		limit = 1000
	}
	if len(types) == 0 {
		return nil, nil
	}
	args := make([]any, 0, len(types)+2)
	for _, t := range types {
		args = append(args, t)
	}
	args = append(args, after, limit)
	marks := strings.TrimSuffix(strings.Repeat("?,", len(types)), ",")
	return s.query(ctx, `SELECT `+columns+` FROM events WHERE type IN (`+marks+`) AND position > ? ORDER BY position LIMIT ?`, args...)
}
