package domain

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// Status is a session's state at a given time.
type Status string

// Session statuses. Expired is derived from expiresAt and the time asked.
const (
	StatusActive  Status = "active"
	StatusRevoked Status = "revoked"
	StatusExpired Status = "expired"
)

// Revocation describes how a session was revoked.
type Revocation struct {
	At     time.Time
	By     Actor
	Reason string
}

// Session is the session aggregate, rebuilt from its stream.
type Session struct {
	id         string
	userID     string
	startedAt  time.Time
	expiresAt  time.Time
	metadata   json.RawMessage
	revocation *Revocation
	version    int64
}

// RestoreSession rebuilds a session from its stream's events, oldest first.
// It returns nil, nil for an empty stream: the session does not exist.
func RestoreSession(events []Event) (*Session, error) {
	var s *Session
	for i, e := range events {
		switch e := e.(type) {
		case SessionStarted:
			if s != nil {
				return nil, fmt.Errorf("restore session %s: second SessionStarted at version %d", e.SessionID, i+1)
			}
			s = &Session{id: e.SessionID, userID: e.UserID, startedAt: e.StartedAt, expiresAt: e.ExpiresAt, metadata: e.Metadata}
		case SessionRevoked:
			if s == nil {
				return nil, fmt.Errorf("restore session %s: SessionRevoked before SessionStarted", e.SessionID)
			}
			if s.revocation == nil {
				s.revocation = &Revocation{At: e.RevokedAt, By: e.RevokedBy, Reason: e.Reason}
			}
		default:
			return nil, fmt.Errorf("restore session: unexpected %s event", e.EventType())
		}
	}
	if s != nil {
		s.version = int64(len(events))
	}
	return s, nil
}

// ID returns the session id.
func (s *Session) ID() string { return s.id }

// UserID returns the id of the user the session belongs to.
func (s *Session) UserID() string { return s.userID }

// StartedAt returns when the session started.
func (s *Session) StartedAt() time.Time { return s.startedAt }

// ExpiresAt returns when the session expires.
func (s *Session) ExpiresAt() time.Time { return s.expiresAt }

// Metadata returns the client metadata given at start, if any.
func (s *Session) Metadata() json.RawMessage { return s.metadata }

// Revocation returns how the session was revoked, or nil if it was not.
func (s *Session) Revocation() *Revocation { return s.revocation }

// Version is the stream version the session was rebuilt at: the expected
// version for the next append.
func (s *Session) Version() int64 { return s.version }

// Status returns the session's status at now. A revoked session stays
// revoked after it expires.
func (s *Session) Status(now time.Time) Status {
	switch {
	case s.revocation != nil:
		return StatusRevoked
	case !now.Before(s.expiresAt):
		return StatusExpired
	default:
		return StatusActive
	}
}

// StartSession is the command to start a session.
type StartSession struct {
	UserID    string
	SessionID string
	ExpiresAt time.Time
	Metadata  json.RawMessage // optional JSON object
}

// DecideStart decides a StartSession command against the current session
// with that id (nil if none). Starting an existing session of the same user
// is idempotent: it returns nil, nil. An id used by another user is a
// CONFLICT.
func DecideStart(s *Session, cmd StartSession, now time.Time) (*SessionStarted, error) {
	if err := ValidateUserID(cmd.UserID); err != nil {
		return nil, err
	}
	if err := ValidateSessionID(cmd.SessionID); err != nil {
		return nil, err
	}
	if len(cmd.Metadata) > MaxMetadataBytes {
		return nil, Errorf(CodeValidation, "metadata must be at most %d bytes", MaxMetadataBytes)
	}
	if len(cmd.Metadata) > 0 {
		if err := validateMetadata(cmd.Metadata); err != nil {
			return nil, err
		}
	}
	if s != nil {
		if s.userID != cmd.UserID {
			return nil, Errorf(CodeConflict, "session %s already belongs to another user", cmd.SessionID)
		}
		return nil, nil
	}
	now = normalize(now)
	exp := normalize(cmd.ExpiresAt)
	if !exp.After(now) {
		return nil, Errorf(CodeValidation, "expiresAt must be in the future")
	}
	return &SessionStarted{
		SessionID: cmd.SessionID,
		UserID:    cmd.UserID,
		StartedAt: now,
		ExpiresAt: exp,
		Metadata:  cmd.Metadata,
	}, nil
}

// RevokeSession is the command to revoke one session of a user.
type RevokeSession struct {
	UserID    string
	SessionID string
	Actor     Actor
	Reason    string
}

// RevokeDecision is the outcome of DecideRevoke: either a new event, or the
// original revocation of a session that was already revoked.
type RevokeDecision struct {
	Event    *SessionRevoked // nil when already revoked
	Original *Revocation     // set when already revoked
}

// DecideRevoke decides a RevokeSession command against the session (nil if
// it does not exist). Active and expired sessions are revoked; an already
// revoked one yields no event. An unknown session, or one of another user,
// is SESSION_NOT_FOUND.
func DecideRevoke(s *Session, cmd RevokeSession, now time.Time) (RevokeDecision, error) {
	if err := ValidateUserID(cmd.UserID); err != nil {
		return RevokeDecision{}, err
	}
	if err := ValidateSessionID(cmd.SessionID); err != nil {
		return RevokeDecision{}, err
	}
	if err := ValidateReason(cmd.Reason); err != nil {
		return RevokeDecision{}, err
	}
	if s == nil || s.userID != cmd.UserID {
		return RevokeDecision{}, Errorf(CodeSessionNotFound, "session %s not found for user %s", cmd.SessionID, cmd.UserID)
	}
	if s.revocation != nil {
		orig := *s.revocation
		return RevokeDecision{Original: &orig}, nil
	}
	return RevokeDecision{Event: &SessionRevoked{
		SessionID: s.id,
		UserID:    s.userID,
		RevokedAt: normalize(now),
		ExpiresAt: s.expiresAt,
		RevokedBy: cmd.Actor,
		Reason:    cmd.Reason,
	}}, nil
}

// RevokeAll is the command to revoke every active session of a user.
type RevokeAll struct {
	UserID string
	Actor  Actor
	Reason string
}

// DecideRevokeAll returns one SessionRevoked for each of the sessions that
// is active at now. Revoked and expired sessions are left alone.
func DecideRevokeAll(sessions []*Session, cmd RevokeAll, now time.Time) ([]SessionRevoked, error) {
	if err := ValidateUserID(cmd.UserID); err != nil {
		return nil, err
	}
	if err := ValidateReason(cmd.Reason); err != nil {
		return nil, err
	}
	var out []SessionRevoked
	for _, s := range sessions {
		if s == nil || s.userID != cmd.UserID || s.Status(now) != StatusActive {
			continue
		}
		d, err := DecideRevoke(s, RevokeSession{UserID: cmd.UserID, SessionID: s.id, Actor: cmd.Actor, Reason: cmd.Reason}, now)
		if err != nil {
			return nil, err
		}
		out = append(out, *d.Event)
	}
	return out, nil
}

// validateMetadata accepts a JSON object whose keys and strings hold no NUL
// characters (which the stores cannot keep).
func validateMetadata(raw json.RawMessage) error {
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return Errorf(CodeValidation, "metadata must be a JSON object")
	}
	if _, ok := v.(map[string]any); !ok {
		return Errorf(CodeValidation, "metadata must be a JSON object")
	}
	if hasNUL(v) {
		return Errorf(CodeValidation, "metadata must not contain NUL characters")
	}
	return nil
}

func hasNUL(v any) bool {
	switch v := v.(type) {
	case string:
		return strings.ContainsRune(v, 0)
	case []any:
		for _, e := range v {
			if hasNUL(e) {
				return true
			}
		}
	case map[string]any:
		for k, e := range v {
			if strings.ContainsRune(k, 0) || hasNUL(e) {
				return true
			}
		}
	}
	return false
}

// normalize puts times in UTC at microsecond precision, the precision the
// stores keep, so a value reads back exactly as it was decided.
func normalize(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

// SessionSnapshot is a session's state as a read model keeps it, at the
// stream version Version.
type SessionSnapshot struct {
	ID         string
	UserID     string
	StartedAt  time.Time
	ExpiresAt  time.Time
	Metadata   json.RawMessage
	Revocation *Revocation // nil when not revoked
	Version    int64
}

// SessionFromSnapshot rebuilds a session from a snapshot, so a decision
// need not replay the stream; the version makes an append from it fail
// with a conflict when the stream has moved on since.
func SessionFromSnapshot(s SessionSnapshot) (*Session, error) {
	min := int64(1)
	if s.Revocation != nil {
		min = 2
	}
	if s.ID == "" || s.UserID == "" || s.Version < min {
		return nil, fmt.Errorf("session snapshot %q: inconsistent (user %q, version %d)", s.ID, s.UserID, s.Version)
	}
	out := &Session{id: s.ID, userID: s.UserID, startedAt: s.StartedAt, expiresAt: s.ExpiresAt, metadata: s.Metadata, version: s.Version}
	if s.Revocation != nil {
		r := *s.Revocation
		out.revocation = &r
	}
	return out, nil
}
