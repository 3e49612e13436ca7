package projections

import (
	"fmt"

	"github.com/sessiond/sessiond/domain"
	"github.com/sessiond/sessiond/eventstore"
)

// Tables lists the read-model tables, in the order they may be emptied
// before a rebuild.
var Tables = []string{"admin_keys", "sessions", "users"}

// A template is one set-based statement: each reduced event adds a row of
// arguments, and a batch of events becomes one statement over unnest()ed
// arrays. Templates run in the order below, which is also causal order
// (a session is inserted before it can be revoked), so applying a batch
// template by template equals applying it event by event.
type template int

const (
	insertUser template = iota
	insertSession
	revokeSession
	insertKey
	revokeKey
	numTemplates
)

var templateSQL = [numTemplates]string{
	insertUser: `INSERT INTO users (user_id, first_seen_at, first_position)
SELECT * FROM unnest($1::text[], $2::timestamptz[], $3::bigint[])
ON CONFLICT (user_id) DO NOTHING`,
	insertSession: `INSERT INTO sessions (session_id, user_id, started_at, expires_at, metadata, version, last_position)
SELECT id, uid, st, ex, md::jsonb, v, p
FROM unnest($1::text[], $2::text[], $3::timestamptz[], $4::timestamptz[], $5::text[], $6::int[], $7::bigint[])
  AS x(id, uid, st, ex, md, v, p)`,
	revokeSession: `UPDATE sessions s SET revoked_at = x.at, revoked_by_key_id = x.kid, revoked_by = x.kname,
  reason = x.reason, version = x.v, last_position = x.p
FROM unnest($1::text[], $2::timestamptz[], $3::text[], $4::text[], $5::text[], $6::int[], $7::bigint[])
  AS x(id, at, kid, kname, reason, v, p)
WHERE s.session_id = x.id AND s.revoked_at IS NULL`,
	insertKey: `INSERT INTO admin_keys (key_id, name, scopes, key_hash, created_at)
SELECT id, name, string_to_array(scopes, ','), hash, at
FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::timestamptz[]) AS x(id, name, scopes, hash, at)`,
	revokeKey: `UPDATE admin_keys k SET revoked_at = x.at
FROM unnest($1::text[], $2::timestamptz[]) AS x(id, at)
WHERE k.key_id = x.id AND k.revoked_at IS NULL`,
}

// reducers maps each event type to the template rows it adds. Types not
// listed leave the read model alone.
var reducers = map[string]func(b *builder, r *eventstore.Recorded, e domain.Event){
	domain.TypeSessionStarted: func(b *builder, r *eventstore.Recorded, ev domain.Event) {
		e := ev.(domain.SessionStarted)
		b.add(insertUser, e.UserID, e.StartedAt, r.Position)
		b.add(insertSession, e.SessionID, e.UserID, e.StartedAt, e.ExpiresAt, nullable(string(e.Metadata)), r.StreamVersion, r.Position)
	},
	domain.TypeSessionRevoked: func(b *builder, r *eventstore.Recorded, ev domain.Event) {
		e := ev.(domain.SessionRevoked)
		b.add(revokeSession, e.SessionID, e.RevokedAt, e.RevokedBy.KeyID, e.RevokedBy.Label(), nullable(e.Reason), r.StreamVersion, r.Position)
	},
	domain.TypeAdminKeyCreated: func(b *builder, _ *eventstore.Recorded, ev domain.Event) {
		e := ev.(domain.AdminKeyCreated)
		scopes := ""
		for i, s := range e.Scopes {
			if i > 0 {
				scopes += ","
			}
			scopes += string(s)
		}
		b.add(insertKey, e.KeyID, e.Name, scopes, e.KeyHash, e.CreatedAt)
	},
	domain.TypeAdminKeyRevoked: func(b *builder, _ *eventstore.Recorded, ev domain.Event) {
		e := ev.(domain.AdminKeyRevoked)
		b.add(revokeKey, e.KeyID, e.RevokedAt)
	},
}

// Project is the eventstore.Projector of the PostgreSQL read model: it
// reduces a batch of events to at most one statement per template.
func Project(events []eventstore.Recorded) ([]eventstore.Statement, error) {
	b, err := reduce(events)
	if err != nil {
		return nil, err
	}
	return b.statements(), nil
}

// reduce turns events into template rows.
func reduce(events []eventstore.Recorded) (*builder, error) {
	var b builder
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
		reduce(&b, r, e)
	}
	return &b, nil
}

// builder collects template rows column by column.
type builder struct {
	cols [numTemplates][]column
}

// column is one unnest() argument: a growing slice of values.
type column []any

func (b *builder) add(t template, values ...any) {
	if b.cols[t] == nil {
		b.cols[t] = make([]column, len(values))
	}
	for i, v := range values {
		b.cols[t][i] = append(b.cols[t][i], v)
	}
}

func (b *builder) statements() []eventstore.Statement {
	var out []eventstore.Statement
	for t, cols := range b.cols {
		if cols == nil {
			continue
		}
		args := make([]any, len(cols))
		for i, c := range cols {
			args[i] = typed(c)
		}
		out = append(out, eventstore.Statement{SQL: templateSQL[t], Args: args})
	}
	return out
}
