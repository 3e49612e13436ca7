package pgstore

import (
	"context"
	"fmt"

	"github.com/google/uuid"

	"github.com/sessiond/sessiond/eventstore"
)

type request struct {
	appends []eventstore.StreamAppend
	done    chan result
}

type result struct {
	recs []eventstore.Recorded
	err  error
}

func (r *request) reply(recs []eventstore.Recorded, err error) {
	r.done <- result{recs: recs, err: err}
}

// Append records the events of every given stream in one atomic step, each
// stream checked against its expected version. It returns the recorded
// events in the order given.
//
// A version clash returns a *eventstore.ConflictError. Repeating an append
// whose event ids are all recorded already is a no-op that returns the
// original records. When Append returns nil, the events are durable.
func (s *Store) Append(ctx context.Context, appends ...eventstore.StreamAppend) ([]eventstore.Recorded, error) {
	prepared, err := prepare(appends)
	if err != nil {
		return nil, err
	}
	req := &request{appends: prepared, done: make(chan result, 1)}
	select {
	case <-s.stop:
		return nil, eventstore.ErrClosed
	default:
	}
	select {
	case s.reqs <- req:
	case <-s.stop:
		return nil, eventstore.ErrClosed
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	select {
	case res := <-req.done:
		return res.recs, res.err
	case <-s.stopped:
		select {
		case res := <-req.done:
			return res.recs, res.err
		default:
			return nil, eventstore.ErrClosed
		}
	case <-ctx.Done():
		// The writer may still commit it; a retry with the same event
		// ids is safe.
		return nil, ctx.Err()
	}
}

// prepare validates the input and returns a copy with generated event ids
// and canonical JSON, computed here so the writer does no per-event work
// that the callers could do in parallel.
func prepare(in []eventstore.StreamAppend) ([]eventstore.StreamAppend, error) {
	if len(in) == 0 {
		return nil, fmt.Errorf("%w: no streams", eventstore.ErrInvalidAppend)
	}
	out := make([]eventstore.StreamAppend, len(in))
	seen := make(map[uuid.UUID]bool)
	for i, sa := range in {
		if sa.StreamID == "" {
			return nil, fmt.Errorf("%w: empty stream id", eventstore.ErrInvalidAppend)
		}
		if sa.ExpectedVersion < eventstore.AnyVersion {
			return nil, fmt.Errorf("%w: stream %s: expected version %d", eventstore.ErrInvalidAppend, sa.StreamID, sa.ExpectedVersion)
		}
		if len(sa.Events) == 0 {
			return nil, fmt.Errorf("%w: stream %s: no events", eventstore.ErrInvalidAppend, sa.StreamID)
		}
		evs := make([]eventstore.Proposed, len(sa.Events))
		for j, e := range sa.Events {
			if e.Type == "" {
				return nil, fmt.Errorf("%w: stream %s: empty event type", eventstore.ErrInvalidAppend, sa.StreamID)
			}
			if e.EventID == uuid.Nil {
				id, err := uuid.NewV7()
				if err != nil {
					return nil, fmt.Errorf("event id: %w", err)
				}
				e.EventID = id
			}
			if seen[e.EventID] {
				return nil, fmt.Errorf("%w: event id %s given twice", eventstore.ErrInvalidAppend, e.EventID)
			}
			seen[e.EventID] = true
			data, err := eventstore.CanonicalJSON(e.Data)
			if err != nil {
				return nil, fmt.Errorf("stream %s %s data: %w", sa.StreamID, e.Type, err)
			}
			meta := e.Metadata
			if len(meta) == 0 {
				meta = []byte("{}")
			}
			if meta, err = eventstore.CanonicalJSON(meta); err != nil {
				return nil, fmt.Errorf("stream %s %s metadata: %w", sa.StreamID, e.Type, err)
			}
			e.Data, e.Metadata = data, meta
			evs[j] = e
		}
		sa.Events = evs
		out[i] = sa
	}
	return out, nil
}

// writeLoop is the single writer: it takes the first waiting request, adds
// every other request already queued (no waiting), and commits them as one
// transaction.
func (s *Store) writeLoop() {
	defer close(s.stopped)
	batch := make([]*request, 0, s.opts.MaxBatch)
	for {
		select {
		case r := <-s.reqs:
			batch = append(batch[:0], r)
		case <-s.stop:
			s.drain()
			return
		}
	fill:
		for len(batch) < s.opts.MaxBatch {
			select {
			case r := <-s.reqs:
				batch = append(batch, r)
			default:
				break fill
			}
		}
		s.commit(batch)
	}
}

// drain commits what was queued before Close.
func (s *Store) drain() {
	for {
		select {
		case r := <-s.reqs:
			s.commit([]*request{r})
		default:
			return
		}
	}
}
