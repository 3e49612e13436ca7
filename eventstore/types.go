package eventstore

import (
	"encoding/json"
	"time"

	"github.com/google/uuid"
)

// AnyVersion as a StreamAppend's ExpectedVersion skips the version check.
const AnyVersion int64 = -1

// Proposed is an event about to be appended.
type Proposed struct {
	// EventID makes the append idempotent. Zero means "generate one".
	EventID  uuid.UUID
	Type     string
	Data     json.RawMessage // a JSON object
	Metadata json.RawMessage // a JSON object; nil means {}
	// Event is, optionally, the value Data encodes (a domain event),
	// carried to the Recorded so that readers in this process need not
	// decode Data again. It is never stored or hashed.
	Event any `json:"-"`
}

// StreamAppend proposes events for one stream. ExpectedVersion is the
// stream's current version (0 for a new stream) or AnyVersion.
type StreamAppend struct {
	StreamID        string
	ExpectedVersion int64
	Events          []Proposed
	// Personal is personal data the events' metadata references; it is
	// stored beside the log in the same transaction.
	Personal []PersonalItem
	// Precondition, if set, makes the whole request conditional on the
	// read model (see Precondition).
	Precondition *Precondition
}

// Precondition makes an append conditional on what the read model says
// when the append commits, not when the caller read it: optimistic
// concurrency over a query, as ExpectedVersion is over a stream. The
// store runs Query with Args inside the append transaction, under the
// append lock, where the read model holds every committed event; the
// request is recorded only if the query returns exactly the strings Want
// (in any order). Otherwise it records nothing and fails with a
// *PreconditionError, which matches ErrConflict: read again and retry.
//
// Query names a query of the store's read model (Options.Queries turns it
// into SQL), so the condition stays store-neutral. Key names the part of
// the read model the query reads (e.g. "user:alice"): within one batch,
// requests with preconditions are planned before the others, and only
// one request per Key records anything, so every precondition is checked
// against the state its request is recorded on (see Planner.PlanBatch).
// Requests whose preconditions have different keys must not change each
// other's query results.
//
// A request whose events are all recorded already (a retry with the same
// event ids) is a no-op as always: its precondition is not checked.
type Precondition struct {
	Key   string
	Query string
	Args  []any
	Want  []string
}

// QueryFunc resolves a precondition's query to a statement on a store's
// read model that returns one text column.
type QueryFunc func(query string, args []any) (Statement, error)

// Recorded is an event as stored in the log.
type Recorded struct {
	Position      int64
	StreamID      string
	StreamVersion int64
	EventID       uuid.UUID
	Type          string
	Data          json.RawMessage
	Metadata      json.RawMessage
	RecordedAt    time.Time
	PrevHash      []byte
	Hash          []byte
	// Event is the appender's decoded form of Data (Proposed.Event) on
	// the events an Append returns; nil on events read from storage.
	Event any `json:"-"`
}

// Statement is one SQL statement with its arguments, as produced by the
// read-model reducers that run inside an append's transaction.
type Statement struct {
	SQL  string
	Args []any
}

// Projector turns freshly recorded events into the statements that update
// a read model in the same transaction as the append.
type Projector func(events []Recorded) ([]Statement, error)
