package projections

import (
	"context"
	"encoding/json"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sessiond/sessiond/domain"
)

// SessionRow is one session as the read model keeps it.
type SessionRow struct {
	SessionID      string
	UserID         string
	StartedAt      time.Time
	ExpiresAt      time.Time
	Metadata       json.RawMessage
	RevokedAt      *time.Time
	RevokedByKeyID *string
	RevokedBy      *string
	Reason         *string
	Version        int64
}

// Status returns the row's status at now.
func (r *SessionRow) Status(now time.Time) domain.Status {
	switch {
	case r.RevokedAt != nil:
		return domain.StatusRevoked
	case !now.Before(r.ExpiresAt):
		return domain.StatusExpired
	default:
		return domain.StatusActive
	}
}

// KeyRow is one admin key as the read model keeps it. The secret is never
// stored; KeyHash is its SHA-256.
type KeyRow struct {
	KeyID     string
	Name      string
	Scopes    []domain.Scope
	KeyHash   string
	CreatedAt time.Time
	RevokedAt *time.Time
}

// ListFilter selects sessions for ListSessions.
type ListFilter struct {
	UserID string
	Status string // "active", "revoked", "expired" or "all"
	After  string // cursor: the last sessionId of the previous page
	Limit  int
	Now    time.Time
}

// ReadModel answers queries from the PostgreSQL read model. Failures to
// reach the database wrap eventstore.ErrUnavailable.
type ReadModel struct {
	pool     *pgxpool.Pool
	classify func(error) error
}

// NewReadModel returns a ReadModel on pool. classify maps driver errors to
// the event store's (see pgstore.Classify); nil leaves them as they are.
func NewReadModel(pool *pgxpool.Pool, classify func(error) error) *ReadModel {
	if classify == nil {
		classify = func(err error) error { return err }
	}
	return &ReadModel{pool: pool, classify: classify}
}

const sessionColumns = `session_id, user_id, started_at, expires_at, metadata, revoked_at, revoked_by_key_id, revoked_by, reason, version`

// UserExists reports whether any session was ever started for userID.
func (m *ReadModel) UserExists(ctx context.Context, userID string) (bool, error) {
	var ok bool
	err := m.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM users WHERE user_id = $1)`, userID).Scan(&ok)
	return ok, m.classify(err)
}

// Session returns one session, or nil if there is none.
func (m *ReadModel) Session(ctx context.Context, sessionID string) (*SessionRow, error) {
	rows, err := m.pool.Query(ctx, `SELECT `+sessionColumns+` FROM sessions WHERE session_id = $1`, sessionID)
	if err != nil {
		return nil, m.classify(err)
	}
	list, err := pgx.CollectRows(rows, scanSession)
	if err != nil || len(list) == 0 {
		return nil, m.classify(err)
	}
	return &list[0], nil
}

// ListSessions returns a page of a user's sessions ordered by session id
// (generated ids sort by creation time).
func (m *ReadModel) ListSessions(ctx context.Context, f ListFilter) ([]SessionRow, error) {
	q := `SELECT ` + sessionColumns + ` FROM sessions WHERE user_id = $1 AND session_id > $2`
	switch f.Status {
	case "active":
		q += ` AND revoked_at IS NULL AND expires_at > $4`
	case "revoked":
		q += ` AND revoked_at IS NOT NULL AND $4::timestamptz IS NOT NULL`
	case "expired":
		q += ` AND revoked_at IS NULL AND expires_at <= $4`
	default:
		q += ` AND $4::timestamptz IS NOT NULL`
	}
	q += ` ORDER BY session_id LIMIT $3`
	rows, err := m.pool.Query(ctx, q, f.UserID, f.After, f.Limit, f.Now)
	if err != nil {
		return nil, m.classify(err)
	}
	list, err := pgx.CollectRows(rows, scanSession)
	return list, m.classify(err)
}

// ActiveSessionIDs returns the ids of a user's sessions that are active at
// now, in id order.
func (m *ReadModel) ActiveSessionIDs(ctx context.Context, userID string, now time.Time) ([]string, error) {
	rows, err := m.pool.Query(ctx, `SELECT session_id FROM sessions
WHERE user_id = $1 AND revoked_at IS NULL AND expires_at > $2 ORDER BY session_id`, userID, now)
	if err != nil {
		return nil, m.classify(err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	return ids, m.classify(err)
}

// AdminKeyByHash returns the key whose secret hashes to hash, or nil.
func (m *ReadModel) AdminKeyByHash(ctx context.Context, hash string) (*KeyRow, error) {
	rows, err := m.pool.Query(ctx, `SELECT key_id, name, scopes, key_hash, created_at, revoked_at FROM admin_keys WHERE key_hash = $1`, hash)
	if err != nil {
		return nil, m.classify(err)
	}
	list, err := pgx.CollectRows(rows, scanKey)
	if err != nil || len(list) == 0 {
		return nil, m.classify(err)
	}
	return &list[0], nil
}

// AdminKeys returns every admin key, oldest first.
func (m *ReadModel) AdminKeys(ctx context.Context) ([]KeyRow, error) {
	rows, err := m.pool.Query(ctx, `SELECT key_id, name, scopes, key_hash, created_at, revoked_at FROM admin_keys ORDER BY created_at, key_id`)
	if err != nil {
		return nil, m.classify(err)
	}
	keys, err := pgx.CollectRows(rows, scanKey)
	return keys, m.classify(err)
}

func scanSession(row pgx.CollectableRow) (SessionRow, error) {
	var r SessionRow
	var meta []byte
	err := row.Scan(&r.SessionID, &r.UserID, &r.StartedAt, &r.ExpiresAt, &meta, &r.RevokedAt,
		&r.RevokedByKeyID, &r.RevokedBy, &r.Reason, &r.Version)
	if len(meta) > 0 {
		r.Metadata = meta
	}
	r.StartedAt, r.ExpiresAt = r.StartedAt.UTC(), r.ExpiresAt.UTC()
	if r.RevokedAt != nil {
		t := r.RevokedAt.UTC()
		r.RevokedAt = &t
	}
	return r, err
}

func scanKey(row pgx.CollectableRow) (KeyRow, error) {
	var (
		k      KeyRow
		scopes []string
	)
	err := row.Scan(&k.KeyID, &k.Name, &scopes, &k.KeyHash, &k.CreatedAt, &k.RevokedAt)
	for _, s := range scopes {
		k.Scopes = append(k.Scopes, domain.Scope(s))
	}
	return k, err
}
