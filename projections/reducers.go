package projections

import (
	"fmt"

	"github.com/sessiond/sessiond/domain"
	"github.com/sessiond/sessiond/eventstore"
)

// Tables lists the read-model tables, in the order they may be emptied
// before a rebuild.
var Tables = []string{"admin_keys", "sessions", "users"}

type reducer func(r *eventstore.Recorded, e domain.Event) []eventstore.Statement

// reducers maps each event type to the statements that apply it. Types not
// listed leave the read model alone.
var reducers = map[string]reducer{
	domain.TypeSessionStarted:  sessionStarted,
	domain.TypeSessionRevoked:  sessionRevoked,
	domain.TypeAdminKeyCreated: adminKeyCreated,
	domain.TypeAdminKeyRevoked: adminKeyRevoked,
}

// Project is the eventstore.Projector of the read model.
func Project(events []eventstore.Recorded) ([]eventstore.Statement, error) {
	var out []eventstore.Statement
	for i := range events {
		r := &events[i]
		reduce, ok := reducers[r.Type]
		if !ok {
			continue
		}
		e, err := domain.DecodeEvent(r.Type, r.Data)
		if err != nil {
			return nil, fmt.Errorf("position %d: %w", r.Position, err)
		}
		out = append(out, reduce(r, e)...)
	}
	return out, nil
}

func sessionStarted(r *eventstore.Recorded, ev domain.Event) []eventstore.Statement {
	e := ev.(domain.SessionStarted)
	var meta any
	if len(e.Metadata) > 0 {
		meta = string(e.Metadata)
	}
	return []eventstore.Statement{
		{SQL: `INSERT INTO users (user_id, first_seen_at, first_position) VALUES ($1, $2, $3)
ON CONFLICT (user_id) DO NOTHING`, Args: []any{e.UserID, e.StartedAt, r.Position}},
		{SQL: `INSERT INTO sessions (session_id, user_id, started_at, expires_at, metadata, version, last_position)
VALUES ($1, $2, $3, $4, $5::text::jsonb, $6, $7)`,
			Args: []any{e.SessionID, e.UserID, e.StartedAt, e.ExpiresAt, meta, r.StreamVersion, r.Position}},
	}
}

func sessionRevoked(r *eventstore.Recorded, ev domain.Event) []eventstore.Statement {
	e := ev.(domain.SessionRevoked)
	var reason any
	if e.Reason != "" {
		reason = e.Reason
	}
	return []eventstore.Statement{{
		SQL: `UPDATE sessions SET revoked_at = $2, revoked_by_key_id = $3, revoked_by = $4, reason = $5,
version = $6, last_position = $7 WHERE session_id = $1 AND revoked_at IS NULL`,
		Args: []any{e.SessionID, e.RevokedAt, e.RevokedBy.KeyID, e.RevokedBy.KeyName, reason, r.StreamVersion, r.Position},
	}}
}

func adminKeyCreated(_ *eventstore.Recorded, ev domain.Event) []eventstore.Statement {
	e := ev.(domain.AdminKeyCreated)
	scopes := make([]string, len(e.Scopes))
	for i, s := range e.Scopes {
		scopes[i] = string(s)
	}
	return []eventstore.Statement{{
		SQL:  `INSERT INTO admin_keys (key_id, name, scopes, key_hash, created_at) VALUES ($1, $2, $3, $4, $5)`,
		Args: []any{e.KeyID, e.Name, scopes, e.KeyHash, e.CreatedAt},
	}}
}

func adminKeyRevoked(_ *eventstore.Recorded, ev domain.Event) []eventstore.Statement {
	e := ev.(domain.AdminKeyRevoked)
	return []eventstore.Statement{{
		SQL:  `UPDATE admin_keys SET revoked_at = $2 WHERE key_id = $1 AND revoked_at IS NULL`,
		Args: []any{e.KeyID, e.RevokedAt},
	}}
}
