package domain

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Event types as stored in the events table's type column.
const (
	TypeSessionStarted  = "SessionStarted"
	TypeSessionRevoked  = "SessionRevoked"
	TypeAdminKeyCreated = "AdminKeyCreated"
	TypeAdminKeyRevoked = "AdminKeyRevoked"
)

// Event is a fact that happened to one stream.
type Event interface {
	// EventType is the name stored in the type column.
	EventType() string
	// StreamID names the stream the event belongs to.
	StreamID() string
}

// SessionStarted records that a session began for a user.
type SessionStarted struct {
	SessionID string          `json:"sessionId"`
	UserID    string          `json:"userId"`
	StartedAt time.Time       `json:"startedAt"`
	ExpiresAt time.Time       `json:"expiresAt"`
	Metadata  json.RawMessage `json:"metadata,omitempty"`
}

// SessionRevoked records that a session was revoked, by whom and why. It
// carries the session's expiry so that consumers (verifiers) know how long
// the revocation matters.
type SessionRevoked struct {
	SessionID string    `json:"sessionId"`
	UserID    string    `json:"userId"`
	RevokedAt time.Time `json:"revokedAt"`
	ExpiresAt time.Time `json:"expiresAt"`
	RevokedBy Actor     `json:"revokedBy"`
	Reason    string    `json:"reason"`
}

// AdminKeyCreated records a new admin API key. Only a hash of the secret
// is ever recorded.
type AdminKeyCreated struct {
	KeyID     string    `json:"keyId"`
	Name      string    `json:"name"`
	Scopes    []Scope   `json:"scopes"`
	KeyHash   string    `json:"keyHash"` // hex SHA-256 of the secret
	CreatedAt time.Time `json:"createdAt"`
	CreatedBy *Actor    `json:"createdBy,omitempty"`
	// Owner is free text naming the human or system behind the key (an
	// e-mail, an employee id); empty for keys made before owners existed.
	Owner string `json:"owner,omitempty"`
}

// AdminKeyRevoked records that an admin key may no longer be used.
type AdminKeyRevoked struct {
	KeyID     string    `json:"keyId"`
	RevokedAt time.Time `json:"revokedAt"`
	RevokedBy *Actor    `json:"revokedBy,omitempty"`
}

// EventType implements Event.
func (SessionStarted) EventType() string { return TypeSessionStarted }

// EventType implements Event.
func (SessionRevoked) EventType() string { return TypeSessionRevoked }

// EventType implements Event.
func (AdminKeyCreated) EventType() string { return TypeAdminKeyCreated }

// EventType implements Event.
func (AdminKeyRevoked) EventType() string { return TypeAdminKeyRevoked }

// StreamID implements Event.
func (e SessionStarted) StreamID() string { return SessionStream(e.SessionID) }

// StreamID implements Event.
func (e SessionRevoked) StreamID() string { return SessionStream(e.SessionID) }

// StreamID implements Event.
func (e AdminKeyCreated) StreamID() string { return AdminKeyStream(e.KeyID) }

// StreamID implements Event.
func (e AdminKeyRevoked) StreamID() string { return AdminKeyStream(e.KeyID) }

// SessionStream is the stream id of a session: "session-<sessionId>".
func SessionStream(sessionID string) string { return "session-" + sessionID }

// AdminKeyStream is the stream id of an admin key: "adminkey-<keyId>".
func AdminKeyStream(keyID string) string { return "adminkey-" + keyID }

// EncodeEvent returns the stored form of e: its type and JSON data.
func EncodeEvent(e Event) (string, []byte, error) {
	data, err := json.Marshal(e)
	if err != nil {
		return "", nil, fmt.Errorf("encode %s: %w", e.EventType(), err)
	}
	return e.EventType(), data, nil
}

// DecodeEvent turns a stored type and JSON data back into an Event. Types
// this package does not know yield an error wrapping ErrUnknownEventType.
func DecodeEvent(typ string, data []byte) (Event, error) {
	var (
		e   Event
		err error
	)
	switch typ {
	case TypeSessionStarted:
		e, err = decodeAs[SessionStarted](data)
	case TypeSessionRevoked:
		e, err = decodeAs[SessionRevoked](data)
	case TypeAdminKeyCreated:
		e, err = decodeAs[AdminKeyCreated](data)
	case TypeAdminKeyRevoked:
		e, err = decodeAs[AdminKeyRevoked](data)
	case TypeAuditCheckpoint:
		e, err = decodeAs[AuditCheckpoint](data)
	case TypeAuditKeyIntroduced:
		e, err = decodeAs[AuditKeyIntroduced](data)
	case TypeSSFStreamCreated:
		e, err = decodeAs[SSFStreamCreated](data)
	case TypeSSFStreamUpdated:
		e, err = decodeAs[SSFStreamUpdated](data)
	case TypeSSFStreamStatusChanged:
		e, err = decodeAs[SSFStreamStatusChanged](data)
	case TypeSSFStreamDeleted:
		e, err = decodeAs[SSFStreamDeleted](data)
	case TypeSSFSubjectAdded:
		e, err = decodeAs[SSFSubjectAdded](data)
	case TypeSSFSubjectRemoved:
		e, err = decodeAs[SSFSubjectRemoved](data)
	case TypeSSFVerificationRequested:
		e, err = decodeAs[SSFVerificationRequested](data)
	case TypeSSFDeliveryFailed:
		e, err = decodeAs[SSFDeliveryFailed](data)
	case TypeConsoleSignedIn:
		e, err = decodeAs[ConsoleSignedIn](data)
	case TypeConsoleSignedOut:
		e, err = decodeAs[ConsoleSignedOut](data)
	case TypeAccessDenied:
		e, err = decodeAs[AccessDenied](data)
	case TypeAuditRead:
		e, err = decodeAs[AuditRead](data)
	case TypePersonalDataErased:
		e, err = decodeAs[PersonalDataErased](data)
	default:
		return nil, fmt.Errorf("%w: %q", ErrUnknownEventType, typ)
	}
	if err != nil {
		return nil, fmt.Errorf("decode %s: %w", typ, err)
	}
	return e, nil
}

func decodeAs[T Event](data []byte) (Event, error) {
	var v T
	if err := json.Unmarshal(data, &v); err != nil {
		return nil, err
	}
	return v, nil
}

// ErrUnknownEventType is returned by DecodeEvent for a type it does not know.
var ErrUnknownEventType = errors.New("unknown event type")
