package projections

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"strings"
	"time"

	"github.com/sessiond/sessiond/domain"
	"github.com/sessiond/sessiond/eventstore"
)

// SQLiteReadModel answers the same queries as ReadModel from the SQLite
// read model. classify maps driver errors (see sqlitestore.Classify).
type SQLiteReadModel struct {
	db       *sql.DB
	classify func(error) error
}

// NewSQLiteReadModel returns a read model on db; classify may be nil.
func NewSQLiteReadModel(db *sql.DB, classify func(error) error) *SQLiteReadModel {
	if classify == nil {
		classify = func(err error) error { return err }
	}
	return &SQLiteReadModel{db: db, classify: classify}
}

// UserExists reports whether any session was ever started for userID.
func (m *SQLiteReadModel) UserExists(ctx context.Context, userID string) (bool, error) {
	var ok bool
	err := m.db.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM users WHERE user_id = ?)`, userID).Scan(&ok)
	return ok, m.classify(err)
}

// Session returns one session, or nil if there is none.
func (m *SQLiteReadModel) Session(ctx context.Context, sessionID string) (*SessionRow, error) {
	list, err := m.sessions(ctx, `SELECT `+sessionColumns+` FROM sessions WHERE session_id = ?`, sessionID)
	if err != nil || len(list) == 0 {
		return nil, err
	}
	return &list[0], nil
}

// ListSessions returns a page of a user's sessions ordered by session id.
func (m *SQLiteReadModel) ListSessions(ctx context.Context, f ListFilter) ([]SessionRow, error) {
	q := `SELECT ` + sessionColumns + ` FROM sessions WHERE user_id = ?1 AND session_id > ?2`
	switch f.Status {
	case "active":
		q += ` AND revoked_at IS NULL AND expires_at > ?4`
	case "revoked":
		q += ` AND revoked_at IS NOT NULL AND ?4 IS NOT NULL`
	case "expired":
		q += ` AND revoked_at IS NULL AND expires_at <= ?4`
	default:
		q += ` AND ?4 IS NOT NULL`
	}
	q += ` ORDER BY session_id LIMIT ?3`
	return m.sessions(ctx, q, f.UserID, f.After, f.Limit, SQLiteTime(f.Now))
}

// ActiveSessionIDs returns the ids of a user's sessions that are active at
// now, in id order.
func (m *SQLiteReadModel) ActiveSessionIDs(ctx context.Context, userID string, now time.Time) ([]string, error) {
	rows, err := m.db.QueryContext(ctx, `SELECT session_id FROM sessions
WHERE user_id = ? AND revoked_at IS NULL AND expires_at > ? ORDER BY session_id`, userID, SQLiteTime(now))
	if err != nil {
		return nil, m.classify(err)
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, m.classify(err)
		}
		ids = append(ids, id)
	}
	return ids, m.classify(rows.Err())
}

// AdminKeyByHash returns the key whose secret hashes to hash, or nil.
func (m *SQLiteReadModel) AdminKeyByHash(ctx context.Context, hash string) (*KeyRow, error) {
	keys, err := m.keys(ctx, `SELECT key_id, name, scopes, key_hash, created_at, revoked_at FROM admin_keys WHERE key_hash = ?`, hash)
	if err != nil || len(keys) == 0 {
		return nil, err
	}
	return &keys[0], nil
}

// AdminKeys returns every admin key, oldest first.
func (m *SQLiteReadModel) AdminKeys(ctx context.Context) ([]KeyRow, error) {
	return m.keys(ctx, `SELECT key_id, name, scopes, key_hash, created_at, revoked_at FROM admin_keys ORDER BY created_at, key_id`)
}

func (m *SQLiteReadModel) sessions(ctx context.Context, q string, args ...any) ([]SessionRow, error) {
	rows, err := m.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, m.classify(err)
	}
	defer rows.Close()
	var out []SessionRow
	for rows.Next() {
		var (
			r                 SessionRow
			started, expires  string
			meta, revoked     sql.NullString
			keyID, by, reason sql.NullString
		)
		if err := rows.Scan(&r.SessionID, &r.UserID, &started, &expires, &meta, &revoked, &keyID, &by, &reason, &r.Version); err != nil {
			return nil, m.classify(err)
		}
		var perr error
		r.StartedAt, perr = parseSQLiteTime(started, perr)
		r.ExpiresAt, perr = parseSQLiteTime(expires, perr)
		if revoked.Valid {
			var t time.Time
			t, perr = parseSQLiteTime(revoked.String, perr)
			r.RevokedAt = &t
		}
		if perr != nil {
			return nil, perr
		}
		if meta.Valid {
			r.Metadata = json.RawMessage(meta.String)
		}
		r.RevokedByKeyID, r.RevokedBy, r.Reason = nullString(keyID), nullString(by), nullString(reason)
		out = append(out, r)
	}
	return out, m.classify(rows.Err())
}

func (m *SQLiteReadModel) keys(ctx context.Context, q string, args ...any) ([]KeyRow, error) {
	rows, err := m.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, m.classify(err)
	}
	defer rows.Close()
	var out []KeyRow
	for rows.Next() {
		var (
			k       KeyRow
			scopes  string
			created string
			revoked sql.NullString
		)
		if err := rows.Scan(&k.KeyID, &k.Name, &scopes, &k.KeyHash, &created, &revoked); err != nil {
			return nil, m.classify(err)
		}
		var perr error
		k.CreatedAt, perr = parseSQLiteTime(created, perr)
		if revoked.Valid {
			var t time.Time
			t, perr = parseSQLiteTime(revoked.String, perr)
			k.RevokedAt = &t
		}
		if perr != nil {
			return nil, perr
		}
		for _, s := range strings.Split(scopes, ",") {
			if s != "" {
				k.Scopes = append(k.Scopes, domain.Scope(s))
			}
		}
		out = append(out, k)
	}
	return out, m.classify(rows.Err())
}

// parseSQLiteTime parses a stored time unless an earlier parse failed.
func parseSQLiteTime(s string, prev error) (time.Time, error) {
	if prev != nil {
		return time.Time{}, prev
	}
	t, err := time.Parse(eventstore.TimeFormat, s)
	if err != nil {
		return time.Time{}, errors.New("read model: bad stored time " + s)
	}
	return t, nil
}

func nullString(s sql.NullString) *string {
	if !s.Valid {
		return nil
	}
	return &s.String
}
