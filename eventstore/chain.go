package eventstore

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"time"

	"github.com/gowebpki/jcs"
)

// GenesisHash is the prev_hash of the first event: 32 zero bytes.
var GenesisHash = make([]byte, sha256.Size)

// TimeFormat is how recorded_at enters the canonical encoding: UTC with
// exactly six fractional digits.
const TimeFormat = "2006-01-02T15:04:05.000000Z"

// canonicalRow lists the hashed columns. Field names are the JSON keys of
// the canonical encoding; JCS sorts them.
type canonicalRow struct {
	Position      int64           `json:"position"`
	StreamID      string          `json:"streamId"`
	StreamVersion int64           `json:"streamVersion"`
	EventID       string          `json:"eventId"`
	Type          string          `json:"type"`
	Data          json.RawMessage `json:"data"`
	Metadata      json.RawMessage `json:"metadata"`
	RecordedAt    string          `json:"recordedAt"`
}

// Canonical returns the canonical encoding of r: the RFC 8785 (JCS) form of
// {"data","eventId","metadata","position","recordedAt","streamId",
// "streamVersion","type"}. prev_hash and hash are not part of it.
func Canonical(r *Recorded) ([]byte, error) {
	row := canonicalRow{
		Position:      r.Position,
		StreamID:      r.StreamID,
		StreamVersion: r.StreamVersion,
		EventID:       r.EventID.String(),
		Type:          r.Type,
		Data:          r.Data,
		Metadata:      r.Metadata,
		RecordedAt:    r.RecordedAt.UTC().Format(TimeFormat),
	}
	raw, err := json.Marshal(row)
	if err != nil {
		return nil, fmt.Errorf("canonical position %d: %w", r.Position, err)
	}
	out, err := jcs.Transform(raw)
	if err != nil {
		return nil, fmt.Errorf("canonical position %d: %w", r.Position, err)
	}
	return out, nil
}

// ComputeHash returns SHA-256(prev ‖ Canonical(r)).
func ComputeHash(prev []byte, r *Recorded) ([]byte, error) {
	enc, err := Canonical(r)
	if err != nil {
		return nil, err
	}
	h := sha256.New()
	h.Write(prev)
	h.Write(enc)
	return h.Sum(nil), nil
}

// CanonicalJSON returns the JCS form of a JSON object, so that what a store
// keeps reads back with the same hash. Anything but an object is rejected.
func CanonicalJSON(raw json.RawMessage) (json.RawMessage, error) {
	trimmed := bytes.TrimSpace(raw)
	if len(trimmed) == 0 || trimmed[0] != '{' {
		return nil, fmt.Errorf("%w: want a JSON object", ErrInvalidAppend)
	}
	out, err := jcs.Transform(trimmed)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidAppend, err)
	}
	if bytes.Contains(out, []byte(`\u0000`)) {
		return nil, fmt.Errorf("%w: NUL characters are not storable", ErrInvalidAppend)
	}
	return out, nil
}

// NormalizeTime puts t in UTC at microsecond precision, the precision the
// stores keep.
func NormalizeTime(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }
