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
}

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
