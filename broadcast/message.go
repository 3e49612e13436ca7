package broadcast

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/sessiond/sessiond/domain"
	"github.com/sessiond/sessiond/eventstore"
)

// Revoked is the payload of sessions.revoked.<sessionId> (contract
// section 8).
type Revoked struct {
	Type      string    `json:"type"`
	EventID   string    `json:"eventId"`
	Position  int64     `json:"position"`
	SessionID string    `json:"sessionId"`
	UserID    string    `json:"userId"`
	RevokedAt time.Time `json:"revokedAt"`
	ExpiresAt time.Time `json:"expiresAt"`
	RevokedBy string    `json:"revokedBy"`
	Reason    string    `json:"reason"`
}

// Heartbeat is the payload of sessions.heartbeat: the last position the
// relay has broadcast.
type Heartbeat struct {
	Position int64     `json:"position"`
	At       time.Time `json:"at"`
}

// revokedMessage builds the payload of a recorded SessionRevoked.
func revokedMessage(r *eventstore.Recorded) (Revoked, error) {
	e, err := domain.DecodeEvent(r.Type, r.Data)
	if err != nil {
		return Revoked{}, fmt.Errorf("position %d: %w", r.Position, err)
	}
	ev, ok := e.(domain.SessionRevoked)
	if !ok {
		return Revoked{}, fmt.Errorf("position %d: %s is not a revocation", r.Position, r.Type)
	}
	return Revoked{
		Type: domain.TypeSessionRevoked, EventID: r.EventID.String(), Position: r.Position,
		SessionID: ev.SessionID, UserID: ev.UserID, RevokedAt: ev.RevokedAt, ExpiresAt: ev.ExpiresAt,
		RevokedBy: ev.RevokedBy.KeyName, Reason: ev.Reason,
	}, nil
}

func encode(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // plain structs: cannot fail
	}
	return b
}
