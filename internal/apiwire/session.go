package apiwire

import (
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

// ListResponse answers GET /users/{id}/sessions.
type ListResponse struct {
	Sessions []SessionDTO `json:"sessions"`
	Next     *string      `json:"next"`
}

// SessionDTOOf renders a session as the API answers it.
func SessionDTOOf(s app.Session) SessionDTO {
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

// SessionDTOs renders sessions as the API answers them.
func SessionDTOs(list []app.Session) []SessionDTO {
	out := make([]SessionDTO, len(list))
	for i, s := range list {
		out[i] = SessionDTOOf(s)
	}
	return out
}
