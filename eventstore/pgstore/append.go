package pgstore

import (
	"context"

	"github.com/sessiond/sessiond/eventstore"
)

// Append records the events of every given stream in one atomic step, each
// stream checked against its expected version. It returns the recorded
// events in the order given.
//
// A version clash returns a *eventstore.ConflictError. Repeating an append
// whose event ids are all recorded already is a no-op that returns the
// original records. When Append returns nil, the events are durable.
func (s *Store) Append(ctx context.Context, appends ...eventstore.StreamAppend) ([]eventstore.Recorded, error) {
	return s.writer.Append(ctx, appends...)
}
