package eventstore

import (
	"bufio"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/google/uuid"
)

// ErrImportGap is returned by a store's Import when the events do not
// continue its log: the first position is not head+1 or its prev_hash is
// not the head's hash.
var ErrImportGap = errors.New("imported events do not continue the log")

// ExportedEvent is one line of an export: every column of the events
// table, hashes in hex. JSON Lines, in position order.
type ExportedEvent struct {
	Position      int64           `json:"position"`
	StreamID      string          `json:"streamId"`
	StreamVersion int64           `json:"streamVersion"`
	EventID       uuid.UUID       `json:"eventId"`
	Type          string          `json:"type"`
	Data          json.RawMessage `json:"data"`
	Metadata      json.RawMessage `json:"metadata"`
	RecordedAt    string          `json:"recordedAt"` // TimeFormat
	PrevHash      string          `json:"prevHash"`
	Hash          string          `json:"hash"`
}

// Export renders r as an export line's value.
func Export(r *Recorded) ExportedEvent {
	return ExportedEvent{
		Position: r.Position, StreamID: r.StreamID, StreamVersion: r.StreamVersion, EventID: r.EventID,
		Type: r.Type, Data: r.Data, Metadata: r.Metadata, RecordedAt: r.RecordedAt.UTC().Format(TimeFormat),
		PrevHash: hex.EncodeToString(r.PrevHash), Hash: hex.EncodeToString(r.Hash),
	}
}

// Recorded converts an export line back.
func (e *ExportedEvent) Recorded() (Recorded, error) {
	at, err := time.Parse(TimeFormat, e.RecordedAt)
	if err != nil {
		return Recorded{}, fmt.Errorf("position %d: recordedAt: %w", e.Position, err)
	}
	prev, err := hex.DecodeString(e.PrevHash)
	if err != nil {
		return Recorded{}, fmt.Errorf("position %d: prevHash: %w", e.Position, err)
	}
	hash, err := hex.DecodeString(e.Hash)
	if err != nil {
		return Recorded{}, fmt.Errorf("position %d: hash: %w", e.Position, err)
	}
	return Recorded{Position: e.Position, StreamID: e.StreamID, StreamVersion: e.StreamVersion, EventID: e.EventID,
		Type: e.Type, Data: e.Data, Metadata: e.Metadata, RecordedAt: at, PrevHash: prev, Hash: hash}, nil
}

// ExportReader reads an export and checks its hash chain as it goes, so
// that nothing altered or missing is ever imported.
type ExportReader struct {
	dec  *json.Decoder
	walk *ChainWalker
}

// NewExportReader reads r, whose first event must be at position from and
// link to prevHash (GenesisHash from position 1).
func NewExportReader(r io.Reader, from int64, prevHash []byte) *ExportReader {
	return &ExportReader{dec: json.NewDecoder(bufio.NewReaderSize(r, 1<<16)), walk: NewChainWalker(from, prevHash)}
}

// Next returns up to n events; an empty slice and io.EOF at the end. A
// broken chain is an error naming the position.
func (x *ExportReader) Next(n int) ([]Recorded, error) {
	var out []Recorded
	for len(out) < n {
		var e ExportedEvent
		if err := x.dec.Decode(&e); err != nil {
			if errors.Is(err, io.EOF) && len(out) > 0 {
				return out, nil
			}
			return out, err
		}
		r, err := e.Recorded()
		if err != nil {
			return nil, err
		}
		if b := x.walk.Step(&r); b != nil {
			return nil, fmt.Errorf("export is broken at position %d: %s", b.Position, b.Reason)
		}
		out = append(out, r)
	}
	return out, nil
}

// CheckContinues reports whether first continues a log whose newest event
// is at head with hash headHash.
func CheckContinues(first Recorded, head int64, headHash []byte) error {
	if first.Position != head+1 || string(first.PrevHash) != string(headHash) {
		return fmt.Errorf("%w: the log ends at position %d (hash %x); the import starts at %d (prev %x)",
			ErrImportGap, head, headHash, first.Position, first.PrevHash)
	}
	return nil
}

// ExportedPersonal is one line of a personal-data export (JSON Lines).
type ExportedPersonal struct {
	Ref        string `json:"ref"`
	Salt       string `json:"salt"` // hex
	Value      string `json:"value"`
	Kind       string `json:"kind"`
	ActorKeyID string `json:"actorKeyId,omitempty"`
	RecordedAt string `json:"recordedAt"` // TimeFormat
}

// ExportPersonal renders an item as an export line's value.
func ExportPersonal(p PersonalItem) ExportedPersonal {
	return ExportedPersonal{Ref: p.Ref, Salt: hex.EncodeToString(p.Salt), Value: p.Value, Kind: p.Kind,
		ActorKeyID: p.ActorKeyID, RecordedAt: p.At.UTC().Format(TimeFormat)}
}

// Item converts an export line back, refusing one whose reference is not
// the salted hash of its value.
func (e *ExportedPersonal) Item() (PersonalItem, error) {
	salt, err := hex.DecodeString(e.Salt)
	if err != nil {
		return PersonalItem{}, fmt.Errorf("personal %s: salt: %w", e.Ref, err)
	}
	at, err := time.Parse(TimeFormat, e.RecordedAt)
	if err != nil {
		return PersonalItem{}, fmt.Errorf("personal %s: recordedAt: %w", e.Ref, err)
	}
	it := PersonalItem{Ref: e.Ref, Salt: salt, Value: e.Value, Kind: e.Kind, ActorKeyID: e.ActorKeyID, At: at}
	if !it.Verify() {
		return PersonalItem{}, fmt.Errorf("personal %s: the reference is not the salted hash of the value", e.Ref)
	}
	return it, nil
}
