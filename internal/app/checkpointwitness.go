package app

import (
	"context"
	"time"

	"github.com/sessiond/sessiond/domain"
	"github.com/sessiond/sessiond/eventstore"
	"github.com/sessiond/sessiond/projections"
)

// Witness keeps checkpoints outside the database (witness.NATS,
// witness.Dir).
type Witness interface {
	Name() string
	// Witness stores one checkpoint JWS; id (the checkpoint event's id)
	// lets it drop a retried copy.
	Witness(ctx context.Context, id, jws string) error
}

// witnessTimeout bounds one witness write, so a hung witness delays only
// its own runner.
const witnessTimeout = 10 * time.Second

// WitnessHandler is a projections.Handler that hands every AuditCheckpoint
// to w, in position order. The log is the outbox: the runner's checkpoint
// advances only past checkpoints w accepted, so one that could not be
// witnessed is retried. It runs beside the append path, never on it.
func WitnessHandler(w Witness) projections.Handler {
	return func(ctx context.Context, events []eventstore.Recorded) (int64, error) {
		var handled int64
		for i := range events {
			r := &events[i]
			if r.Type == domain.TypeAuditCheckpoint {
				e, err := domain.DecodeEvent(r.Type, r.Data)
				if err != nil {
					return handled, err
				}
				wctx, cancel := context.WithTimeout(ctx, witnessTimeout)
				err = w.Witness(wctx, r.EventID.String(), e.(domain.AuditCheckpoint).Signature)
				cancel()
				if err != nil {
					return handled, err
				}
			}
			handled = r.Position
		}
		return handled, nil
	}
}
