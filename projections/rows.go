package projections

import (
	"context"
	"database/sql"
	"strings"
)

// ModelTable describes one read-model table for verification: its key
// column and the columns compared, in order.
type ModelTable struct {
	Name    string
	Key     string
	Columns []string
}

// ModelTables are the read-model tables that audit verification compares
// with a rebuild from the log.
var ModelTables = []ModelTable{
	{"admin_keys", "key_id", []string{"name", "scopes", "key_hash", "created_at", "revoked_at"}},
	{"sessions", "session_id", []string{"user_id", "started_at", "expires_at", "metadata", "revoked_at", "revoked_by_key_id", "revoked_by", "reason", "version", "last_position"}},
	{"users", "user_id", []string{"first_seen_at", "first_position"}},
}

// timeColumns are rendered as eventstore.TimeFormat text.
var timeColumns = map[string]bool{"created_at": true, "revoked_at": true, "started_at": true, "expires_at": true, "first_seen_at": true}

// EachRow calls fn for every row of table (one of ModelTables), in key
// order, with the compared columns as text (nil for NULL): times as
// eventstore.TimeFormat, scopes comma-separated, metadata as JSON.
func (m *ReadModel) EachRow(ctx context.Context, t ModelTable, fn func(key string, cols []*string) error) error {
	sel := make([]string, len(t.Columns))
	for i, c := range t.Columns {
		switch {
		case timeColumns[c]:
			sel[i] = `to_char(` + c + ` AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`
		case c == "scopes":
			sel[i] = `array_to_string(scopes, ',')`
		default:
			sel[i] = c + `::text`
		}
	}
	rows, err := m.pool.Query(ctx, `SELECT `+t.Key+`, `+strings.Join(sel, ", ")+` FROM `+t.Name+` ORDER BY `+t.Key)
	if err != nil {
		return m.classify(err)
	}
	defer rows.Close()
	for rows.Next() {
		var key string
		cols := make([]*string, len(t.Columns))
		dst := []any{&key}
		for i := range cols {
			dst = append(dst, &cols[i])
		}
		if err := rows.Scan(dst...); err != nil {
			return m.classify(err)
		}
		if err := fn(key, cols); err != nil {
			return err
		}
	}
	return m.classify(rows.Err())
}

// EachRow is ReadModel.EachRow on SQLite, where every compared column is
// already stored as that text.
func (m *SQLiteReadModel) EachRow(ctx context.Context, t ModelTable, fn func(key string, cols []*string) error) error {
	sel := make([]string, len(t.Columns))
	for i, c := range t.Columns {
		sel[i] = `CAST(` + c + ` AS TEXT)`
	}
	rows, err := m.db.QueryContext(ctx, `SELECT `+t.Key+`, `+strings.Join(sel, ", ")+` FROM `+t.Name+` ORDER BY `+t.Key)
	if err != nil {
		return m.classify(err)
	}
	defer rows.Close()
	for rows.Next() {
		var key string
		raw := make([]sql.NullString, len(t.Columns))
		dst := []any{&key}
		for i := range raw {
			dst = append(dst, &raw[i])
		}
		if err := rows.Scan(dst...); err != nil {
			return m.classify(err)
		}
		cols := make([]*string, len(raw))
		for i := range raw {
			cols[i] = nullString(raw[i])
		}
		if err := fn(key, cols); err != nil {
			return err
		}
	}
	return m.classify(rows.Err())
}
