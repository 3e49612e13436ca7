package api

import (
	"encoding/json"
	"time"

	"github.com/sessiond/sessiond/domain"
	"github.com/sessiond/sessiond/internal/app"
)

// SessionDTO is the contract's session object.
type SessionDTO struct {
	SessionID string     `json:"sessionId"`
	UserID    string     `json:"userId"`
	Status    string     `json:"status"`
	StartedAt time.Time  `json:"startedAt"`
	ExpiresAt time.Time  `json:"expiresAt"`
	RevokedAt *time.Time `json:"revokedAt"`
	RevokedBy *string    `json:"revokedBy"`
	// RevokedByActor is who revoked the session in full: the key's id,
	// name and owner (revokedBy keeps the contract's key name).
	RevokedByActor *domain.Actor `json:"revokedByActor"`
	Reason         *string       `json:"reason"`
}

// BroadcastDTO tells whether JetStream acknowledged the broadcast before
// the response: "published", or "pending" (the relay will deliver it).
type BroadcastDTO struct {
	Status string `json:"status"`
}

// RevokeResponse answers the seed endpoint.
type RevokeResponse struct {
	SessionDTO
	AlreadyRevoked bool         `json:"alreadyRevoked"`
	Broadcast      BroadcastDTO `json:"broadcast"`
}

// RevokeAllResponse answers DELETE /users/{id}/sessions.
type RevokeAllResponse struct {
	Revoked       int          `json:"revoked"`
	Sessions      []SessionDTO `json:"sessions"`
	CorrelationID string       `json:"correlationId,omitempty"`
	Broadcast     BroadcastDTO `json:"broadcast"`
}

// StartResponse answers POST /users/{id}/sessions.
type StartResponse struct {
	SessionDTO
	Metadata json.RawMessage `json:"metadata,omitempty"`
	Token    string          `json:"token,omitempty"`
}

// ListResponse answers GET /users/{id}/sessions.
type ListResponse struct {
	Sessions []SessionDTO `json:"sessions"`
	Next     *string      `json:"next"`
}

// EventDTO is one event of a session's history.
type EventDTO struct {
	Position   int64           `json:"position"`
	EventID    string          `json:"eventId"`
	Type       string          `json:"type"`
	Version    int64           `json:"streamVersion"`
	RecordedAt time.Time       `json:"recordedAt"`
	Data       json.RawMessage `json:"data"`
	Metadata   json.RawMessage `json:"metadata"`
	// Personal resolves metadata's personal-data references; see
	// app.AuditEvent.
	Personal app.Personal `json:"personal,omitempty"`
}

// SessionResponse answers GET /users/{id}/sessions/{sessionId}.
type SessionResponse struct {
	SessionDTO
	Metadata json.RawMessage `json:"metadata,omitempty"`
	History  []EventDTO      `json:"history"`
}

func sessionDTO(s app.Session) SessionDTO {
	d := SessionDTO{SessionID: s.SessionID, UserID: s.UserID, Status: string(s.Status), StartedAt: s.StartedAt, ExpiresAt: s.ExpiresAt}
	if rv := s.Revoked; rv != nil {
		at, by := rv.At, rv.By.Label()
		actor := rv.By
		d.RevokedAt, d.RevokedBy, d.RevokedByActor = &at, &by, &actor
		if rv.Reason != "" {
			reason := rv.Reason
			d.Reason = &reason
		}
	}
	return d
}

func sessionDTOs(list []app.Session) []SessionDTO {
	out := make([]SessionDTO, len(list))
	for i, s := range list {
		out[i] = sessionDTO(s)
	}
	return out
}

func eventDTOs(recs []app.Event, personal []app.Personal) []EventDTO {
	out := make([]EventDTO, len(recs))
	for i, r := range recs {
		out[i] = EventDTO{Position: r.Position, EventID: r.EventID.String(), Type: r.Type, Version: r.StreamVersion,
			RecordedAt: r.RecordedAt, Data: r.Data, Metadata: r.Metadata}
		if i < len(personal) {
			out[i].Personal = personal[i]
		}
	}
	return out
}
