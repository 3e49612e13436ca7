package eventstore

import (
	"encoding/json"
	"fmt"
	"unicode/utf8"

	"github.com/google/uuid"
)

// Prepare validates the input and returns a copy with generated event ids
// and canonical JSON, computed here so the writer does no per-event work
// that the callers could do in parallel.
func Prepare(in []StreamAppend) (_ []StreamAppend, fast bool, err error) {
	if len(in) == 0 {
		return nil, false, fmt.Errorf("%w: no streams", ErrInvalidAppend)
	}
	fast = true
	out := make([]StreamAppend, len(in))
	seen := make(map[uuid.UUID]bool)
	for i, sa := range in {
		if sa.StreamID == "" || !utf8.ValidString(sa.StreamID) {
			return nil, false, fmt.Errorf("%w: stream id must be non-empty UTF-8", ErrInvalidAppend)
		}
		if sa.ExpectedVersion == AnyVersion {
			fast = false
		}
		if pc := sa.Precondition; pc != nil {
			if pc.Key == "" || pc.Query == "" {
				return nil, false, fmt.Errorf("%w: stream %s: a precondition needs a key and a query", ErrInvalidAppend, sa.StreamID)
			}
			fast = false // checked by a read inside the transaction
		}
		if sa.ExpectedVersion < AnyVersion {
			return nil, false, fmt.Errorf("%w: stream %s: expected version %d", ErrInvalidAppend, sa.StreamID, sa.ExpectedVersion)
		}
		if len(sa.Events) == 0 {
			return nil, false, fmt.Errorf("%w: stream %s: no events", ErrInvalidAppend, sa.StreamID)
		}
		evs := make([]Proposed, len(sa.Events))
		for j, e := range sa.Events {
			if e.Type == "" || !utf8.ValidString(e.Type) {
				return nil, false, fmt.Errorf("%w: stream %s: event type must be non-empty UTF-8", ErrInvalidAppend, sa.StreamID)
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
				return nil, false, fmt.Errorf("%w: event id %s given twice", ErrInvalidAppend, e.EventID)
			}
			seen[e.EventID] = true
			var data, meta json.RawMessage
			data, err = CanonicalJSON(e.Data)
			if err != nil {
				return nil, false, fmt.Errorf("stream %s %s data: %w", sa.StreamID, e.Type, err)
			}
			meta = e.Metadata
			if len(meta) == 0 {
				meta = []byte("{}")
			}
			if meta, err = CanonicalJSON(meta); err != nil {
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
