package eventstore

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/gowebpki/jcs"
)

// GenesisHash is the prev_hash of the first event: 32 zero bytes.
var GenesisHash = make([]byte, sha256.Size)

// TimeFormat is how recorded_at enters the canonical encoding: UTC with
// exactly six fractional digits.
const TimeFormat = "2006-01-02T15:04:05.000000Z"

// Canonical returns the canonical encoding of r: the RFC 8785 (JCS) form of
// {"data","eventId","metadata","position","recordedAt","streamId",
// "streamVersion","type"}. prev_hash and hash are not part of it. Data and
// metadata may be in any JSON spelling (as jsonb prints them).
func Canonical(r *Recorded) ([]byte, error) {
	data, err := jcs.Transform(r.Data)
	if err != nil {
		return nil, fmt.Errorf("canonical position %d data: %w", r.Position, err)
	}
	meta, err := jcs.Transform(r.Metadata)
	if err != nil {
		return nil, fmt.Errorf("canonical position %d metadata: %w", r.Position, err)
	}
	return appendCanonical(nil, r, data, meta), nil
}

// ComputeHash returns SHA-256(prev ‖ Canonical(r)).
func ComputeHash(prev []byte, r *Recorded) ([]byte, error) {
	enc, err := Canonical(r)
	if err != nil {
		return nil, err
	}
	return sum(prev, enc), nil
}

// ComputeHashCanonical is ComputeHash for a record whose Data and Metadata
// are already in canonical form (as CanonicalJSON returns them): it skips
// re-parsing them, which is what an append's writer needs.
func ComputeHashCanonical(prev []byte, r *Recorded) []byte {
	var buf [512]byte
	return sum(prev, appendCanonical(buf[:0], r, r.Data, r.Metadata))
}

func sum(prev, enc []byte) []byte {
	h := sha256.New()
	h.Write(prev)
	h.Write(enc)
	return h.Sum(nil)
}

// appendCanonical writes the JCS object of r with keys in JCS order, given
// data and metadata already in JCS form.
func appendCanonical(buf []byte, r *Recorded, data, meta []byte) []byte {
	buf = append(buf, `{"data":`...)
	buf = append(buf, data...)
	buf = append(buf, `,"eventId":"`...)
	buf = append(buf, r.EventID.String()...)
	buf = append(buf, `","metadata":`...)
	buf = append(buf, meta...)
	buf = append(buf, `,"position":`...)
	buf = strconv.AppendInt(buf, r.Position, 10)
	buf = append(buf, `,"recordedAt":"`...)
	buf = r.RecordedAt.UTC().AppendFormat(buf, TimeFormat)
	buf = append(buf, `","streamId":`...)
	buf = appendString(buf, r.StreamID)
	buf = append(buf, `,"streamVersion":`...)
	buf = strconv.AppendInt(buf, r.StreamVersion, 10)
	buf = append(buf, `,"type":`...)
	buf = appendString(buf, r.Type)
	return append(buf, '}')
}

// appendString writes s as a JCS string (RFC 8785 section 3.2.2.2): only
// '"', '\' and control characters are escaped; short forms where JSON has
// them, otherwise \u00xx in lower-case hex.
func appendString(buf []byte, s string) []byte {
	const hexDigits = "0123456789abcdef"
	buf = append(buf, '"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			buf = append(buf, '\\', c)
		case c == '\b':
			buf = append(buf, '\\', 'b')
		case c == '\t':
			buf = append(buf, '\\', 't')
		case c == '\n':
			buf = append(buf, '\\', 'n')
		case c == '\f':
			buf = append(buf, '\\', 'f')
		case c == '\r':
			buf = append(buf, '\\', 'r')
		case c < 0x20:
			buf = append(buf, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
		default:
			buf = append(buf, c)
		}
	}
	return append(buf, '"')
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
