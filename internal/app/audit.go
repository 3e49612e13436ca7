package app

import (
	"context"
	"crypto/ed25519"
	"sort"
	"time"

	"github.com/sessiond/sessiond/domain"
	"github.com/sessiond/sessiond/eventstore"
	"github.com/sessiond/sessiond/internal/auditkey"
)

// AuditLog is what the audit queries read: the log itself, never the
// read model, so answers are derived from the record.
type AuditLog interface {
	Query(ctx context.Context, f eventstore.Filter, fn func(*eventstore.Recorded) error) error
	Head(ctx context.Context) (int64, []byte, error)
}

// AuditQueries are the audit questions the HTTP adapters (the API and the
// console) answer from; *Audit answers them.
type AuditQueries interface {
	Events(ctx context.Context, f AuditFilter, fn func(*Event) error) error
	Head(ctx context.Context) (int64, []byte, error)
	SessionsAsOf(ctx context.Context, userID string, asOf time.Time) ([]Session, error)
	Reveal(ctx context.Context, recs []Event) ([]Personal, error)
	LatestCheckpoint(ctx context.Context) (*domain.AuditCheckpoint, int64, error)
}

var _ AuditQueries = (*Audit)(nil)

// Audit answers auditors' questions from the log.
type Audit struct {
	log AuditLog
}

// NewAudit returns the audit queries over log.
func NewAudit(log AuditLog) *Audit { return &Audit{log: log} }

// Events streams the events matching f, in position order.
func (a *Audit) Events(ctx context.Context, f eventstore.Filter, fn func(*eventstore.Recorded) error) error {
	return storeError(a.log.Query(ctx, f, fn))
}

// Reveal resolves the personal-data references of recs (see Reveal); nil
// maps when the log keeps no personal data apart.
func (a *Audit) Reveal(ctx context.Context, recs []eventstore.Recorded) ([]Personal, error) {
	ps, ok := a.log.(PersonalStore)
	if !ok {
		return make([]Personal, len(recs)), nil
	}
	return Reveal(ctx, ps, recs)
}

// Head returns the log's newest position and hash.
func (a *Audit) Head(ctx context.Context) (int64, []byte, error) {
	pos, hash, err := a.log.Head(ctx)
	return pos, hash, storeError(err)
}

// SessionsAsOf replays userID's session events recorded at or before asOf
// and returns the sessions as they stood then, ordered by session id. It
// is derived by replay, not stored: the read model only knows the present.
func (a *Audit) SessionsAsOf(ctx context.Context, userID string, asOf time.Time) ([]Session, error) {
	streams := map[string][]domain.Event{}
	err := a.log.Query(ctx, eventstore.Filter{UserID: userID, To: asOf.Add(time.Microsecond)}, func(r *eventstore.Recorded) error {
		if r.Type != domain.TypeSessionStarted && r.Type != domain.TypeSessionRevoked {
			return nil
		}
		e, err := domain.DecodeEvent(r.Type, r.Data)
		if err != nil {
			return err
		}
		streams[r.StreamID] = append(streams[r.StreamID], e)
		return nil
	})
	if err != nil {
		return nil, storeError(err)
	}
	out := make([]Session, 0, len(streams))
	for _, evs := range streams {
		s, err := domain.RestoreSession(evs)
		if err != nil {
			return nil, err
		}
		if s != nil && s.UserID() == userID {
			out = append(out, viewOf(s, asOf))
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].SessionID < out[j].SessionID })
	return out, nil
}

// LatestCheckpoint returns the newest AuditCheckpoint and its position,
// or nil if none was signed yet.
func (a *Audit) LatestCheckpoint(ctx context.Context) (*domain.AuditCheckpoint, int64, error) {
	var (
		last *domain.AuditCheckpoint
		pos  int64
	)
	err := a.log.Query(ctx, eventstore.Filter{Type: domain.TypeAuditCheckpoint}, func(r *eventstore.Recorded) error {
		e, err := domain.DecodeEvent(r.Type, r.Data)
		if err != nil {
			return err
		}
		cp := e.(domain.AuditCheckpoint)
		last, pos = &cp, r.Position
		return nil
	})
	return last, pos, storeError(err)
}

// AuditKeysJWKS returns the audit key history's public keys, plus extra
// (the key this server signs with, before the log introduces it), as a
// JWKS.
func (a *Audit) AuditKeysJWKS(ctx context.Context, extra ...ed25519.PublicKey) ([]byte, error) {
	keys := auditkey.Keys{}
	for _, pub := range extra {
		keys.Add(pub)
	}
	err := a.log.Query(ctx, eventstore.Filter{Type: domain.TypeAuditKeyIntroduced}, func(r *eventstore.Recorded) error {
		e, err := domain.DecodeEvent(r.Type, r.Data)
		if err != nil {
			return err
		}
		if pub, err := auditkey.ParseJWK(e.(domain.AuditKeyIntroduced).PublicKey); err == nil {
			keys.Add(pub)
		}
		return nil
	})
	if err != nil {
		return nil, storeError(err)
	}
	return keys.JWKS(), nil
}
