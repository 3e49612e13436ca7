package eventstore

import (
	"fmt"
	"strings"
	"time"
)

// AuditDialect spells the audit query's expressions for one database.
type AuditDialect struct {
	Columns   string                        // the events columns to select
	Placehold func(n int) string            // the nth (1-based) parameter
	JSONText  func(col, path string) string // text at a dotted path of a JSON column
	Time      func(t time.Time) any         // a recorded_at bound as stored
	NoLimit   any                           // the LIMIT value meaning "all"
}

// AuditSQL builds the audit query for f with only the filters f sets, so
// the planner sees concrete predicates (a catch-all "$n = ” OR …" form
// keeps a cached generic plan from using the user and session indexes).
func AuditSQL(d AuditDialect, f Filter) (string, []any) {
	var (
		where []string
		args  []any
	)
	arg := func(v any) string {
		args = append(args, v)
		return d.Placehold(len(args))
	}
	where = append(where, "TRUE")
	if f.AfterPosition > 0 {
		where = append(where, "position > "+arg(f.AfterPosition))
	}
	if f.UserID != "" {
		where = append(where, d.JSONText("data", "userId")+" = "+arg(f.UserID))
	}
	if f.SessionID != "" {
		where = append(where, d.JSONText("data", "sessionId")+" = "+arg(f.SessionID))
	}
	if f.Type != "" {
		where = append(where, "type = "+arg(f.Type))
	}
	if f.Actor != "" {
		p := arg(f.Actor)
		where = append(where, fmt.Sprintf("(%s = %s OR %s = %s OR %s = %s)", d.JSONText("metadata", "actor.keyId"), p,
			d.JSONText("metadata", "actor.keyName"), p, d.JSONText("metadata", "actor.sub"), p))
	}
	if !f.From.IsZero() {
		where = append(where, "recorded_at >= "+arg(d.Time(f.From)))
	}
	if !f.To.IsZero() {
		where = append(where, "recorded_at < "+arg(d.Time(f.To)))
	}
	limit := d.NoLimit
	if f.Limit > 0 {
		limit = f.Limit
	}
	q := "SELECT " + d.Columns + " FROM events WHERE " + strings.Join(where, " AND ") + " ORDER BY position LIMIT " + arg(limit)
	return q, args
}
