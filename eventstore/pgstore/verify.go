package pgstore

import (
	"context"

	"github.com/sessiond/sessiond/eventstore"
)

// Verify walks the log from position from to position to (inclusive; 0
// means the head) and recomputes the hash chain: eventstore.VerifyLog.
func (s *Store) Verify(ctx context.Context, from, to int64) (eventstore.VerifyResult, error) {
	return eventstore.VerifyLog(ctx, s, from, to)
}
