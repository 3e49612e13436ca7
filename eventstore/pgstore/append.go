package pgstore

import (
	"context"
	"encoding/json"
	"fmt"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/sessiond/sessiond/eventstore"
)

type request struct {
	appends []eventstore.StreamAppend
	done    chan result
	// fast: every event id was generated here (so none can be recorded
	// already) and every stream has an exact expected version.
	fast bool
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
	prepared, fast, err := prepare(appends)
	if err != nil {
		return nil, err
	}
	req := &request{appends: prepared, fast: fast, done: make(chan result, 1)}
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
func prepare(in []eventstore.StreamAppend) (_ []eventstore.StreamAppend, fast bool, err error) {
	if len(in) == 0 {
		return nil, false, fmt.Errorf("%w: no streams", eventstore.ErrInvalidAppend)
	}
	fast = true
	out := make([]eventstore.StreamAppend, len(in))
	seen := make(map[uuid.UUID]bool)
	for i, sa := range in {
		if sa.StreamID == "" || !utf8.ValidString(sa.StreamID) {
			return nil, false, fmt.Errorf("%w: stream id must be non-empty UTF-8", eventstore.ErrInvalidAppend)
		}
		if sa.ExpectedVersion == eventstore.AnyVersion {
			fast = false
		}
		if sa.ExpectedVersion < eventstore.AnyVersion {
			return nil, false, fmt.Errorf("%w: stream %s: expected version %d", eventstore.ErrInvalidAppend, sa.StreamID, sa.ExpectedVersion)
		}
		if len(sa.Events) == 0 {
			return nil, false, fmt.Errorf("%w: stream %s: no events", eventstore.ErrInvalidAppend, sa.StreamID)
		}
		evs := make([]eventstore.Proposed, len(sa.Events))
		for j, e := range sa.Events {
			if e.Type == "" || !utf8.ValidString(e.Type) {
				return nil, false, fmt.Errorf("%w: stream %s: event type must be non-empty UTF-8", eventstore.ErrInvalidAppend, sa.StreamID)
			}
			if e.EventID == uuid.Nil {
				id, err := uuid.NewV7()
				if err != nil {
					return nil, false, fmt.Errorf("event id: %w", err)
				}
				e.EventID = id
			} else {
				fast = false
			}
			if seen[e.EventID] {
				return nil, false, fmt.Errorf("%w: event id %s given twice", eventstore.ErrInvalidAppend, e.EventID)
			}
			seen[e.EventID] = true
			var data, meta json.RawMessage
			data, err = eventstore.CanonicalJSON(e.Data)
			if err != nil {
				return nil, false, fmt.Errorf("stream %s %s data: %w", sa.StreamID, e.Type, err)
			}
			meta = e.Metadata
			if len(meta) == 0 {
				meta = []byte("{}")
			}
			if meta, err = eventstore.CanonicalJSON(meta); err != nil {
				return nil, false, fmt.Errorf("stream %s %s metadata: %w", sa.StreamID, e.Type, err)
			}
			e.Data, e.Metadata = data, meta
			evs[j] = e
		}
		sa.Events = evs
		out[i] = sa
	}
	return out, fast, nil
}

// writeLoop is one writer: it takes the first waiting request, adds
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
