package projections

import (
	"time"

	"github.com/sessiond/sessiond/eventstore"
)

// sqliteSQL is each template for SQLite: one statement per reduced row,
// with the same column order as the PostgreSQL arrays (?N numbers them).
var sqliteSQL = [numTemplates]string{
	insertUser: `INSERT INTO users (user_id, first_seen_at, first_position) VALUES (?1, ?2, ?3)
ON CONFLICT (user_id) DO NOTHING`,
	insertSession: `INSERT INTO sessions (session_id, user_id, started_at, expires_at, metadata, version, last_position)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)`,
	revokeSession: `UPDATE sessions SET revoked_at = ?2, revoked_by_key_id = ?3, revoked_by = ?4, reason = ?5,
  version = ?6, last_position = ?7
WHERE session_id = ?1 AND revoked_at IS NULL`,
	insertKey: `INSERT INTO admin_keys (key_id, name, scopes, key_hash, created_at) VALUES (?1, ?2, ?3, ?4, ?5)`,
	revokeKey: `UPDATE admin_keys SET revoked_at = ?2 WHERE key_id = ?1 AND revoked_at IS NULL`,
}

// ProjectSQLite is the eventstore.Projector of the SQLite read model. It
// reduces events exactly as Project does and applies the rows template by
// template, in the same order, one statement per row. Times become
// eventstore.TimeFormat text, which sorts as time does.
func ProjectSQLite(events []eventstore.Recorded) ([]eventstore.Statement, error) {
	b, err := reduce(events)
	if err != nil {
		return nil, err
	}
	var out []eventstore.Statement
	for t, cols := range b.cols {
		if cols == nil {
			continue
		}
		for row := range cols[0] {
			args := make([]any, len(cols))
			for i, c := range cols {
				args[i] = sqliteValue(c[row])
			}
			out = append(out, eventstore.Statement{SQL: sqliteSQL[t], Args: args})
		}
	}
	return out, nil
}

func sqliteValue(v any) any {
	if t, ok := v.(time.Time); ok {
		return SQLiteTime(t)
	}
	return v
}

// SQLiteTime is how the SQLite stores write times.
func SQLiteTime(t time.Time) string { return t.UTC().Format(eventstore.TimeFormat) }
