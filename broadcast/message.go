package broadcast

import (
	"encoding/json"
	"fmt"

	"github.com/sessiond/sessiond/domain"
	"github.com/sessiond/sessiond/eventstore"
	"github.com/sessiond/sessiond/verifier/wire"
)

// Revoked is the payload of sessions.revoked.<sessionId> (contract
// section 8), defined once in verifier/wire.
type Revoked = wire.Revocation

// Heartbeat is the payload of sessions.heartbeat, defined once in
// verifier/wire.
type Heartbeat = wire.Heartbeat

// revokedMessage builds the payload of a recorded SessionRevoked, from
// the appender's decoded event when it is at hand (the immediate path),
// else by decoding the stored data.
func revokedMessage(r *eventstore.Recorded) (Revoked, error) {
	e, ok := r.Event.(domain.Event)
	if !ok {
		var err error
		if e, err = domain.DecodeEvent(r.Type, r.Data); err != nil {
			return Revoked{}, fmt.Errorf("position %d: %w", r.Position, err)
		}
	}
	ev, ok := e.(domain.SessionRevoked)
	if !ok {
		return Revoked{}, fmt.Errorf("position %d: %s is not a revocation", r.Position, r.Type)
	}
	return Revoked{
		Type: wire.TypeSessionRevoked, EventID: r.EventID.String(), Position: r.Position,
		SessionID: ev.SessionID, UserID: ev.UserID, RevokedAt: ev.RevokedAt, ExpiresAt: ev.ExpiresAt,
		RevokedBy: ev.RevokedBy.Label(), Reason: ev.Reason,
	}, nil
}

func encode(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // plain structs: cannot fail
	}
	return b
}
