package eventstore_test

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/gowebpki/jcs"

	"github.com/sessiond/sessiond/eventstore"
)

// reference is the documented encoding, built the slow, obvious way.
func reference(t *testing.T, r *eventstore.Recorded) []byte {
	t.Helper()
	raw, err := json.Marshal(map[string]any{
		"position": r.Position, "streamId": r.StreamID, "streamVersion": r.StreamVersion,
		"eventId": r.EventID.String(), "type": r.Type, "data": r.Data, "metadata": r.Metadata,
		"recordedAt": r.RecordedAt.UTC().Format("2006-01-02T15:04:05.000000Z"),
	})
	if err != nil {
		t.Fatal(err)
	}
	out, err := jcs.Transform(raw)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func randomString(rng *rand.Rand) string {
	alphabet := []rune("aZ09-_ \"\\/<>&\u2028\u00e9\u4e16\U0001F600\b\f\n\r\t\x00\x01\x1f\x7f")
	n := rng.IntN(12)
	out := make([]rune, n)
	for i := range out {
		out[i] = alphabet[rng.IntN(len(alphabet))]
	}
	return string(out)
}

// TestCanonicalMatchesJCS: the fast composition equals the JCS library's
// output for arbitrary strings, and the fast hash equals the general one.
func TestCanonicalMatchesJCS(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 9))
	for i := range 2000 {
		data, _ := json.Marshal(map[string]any{"reason": randomString(rng), "n": rng.IntN(1 << 40), "f": 1.5})
		meta, _ := json.Marshal(map[string]any{"ua": randomString(rng)})
		r := &eventstore.Recorded{
			Position: int64(i + 1), StreamID: "s-" + randomString(rng), StreamVersion: int64(rng.IntN(100) + 1),
			EventID: uuid.New(), Type: randomString(rng) + "T", Data: data, Metadata: meta,
			RecordedAt: time.Date(2026, 3, 1, 14, 3, 0, rng.IntN(1e9), time.UTC).Truncate(time.Microsecond),
		}
		got, err := eventstore.Canonical(r)
		if err != nil {
			t.Fatal(err)
		}
		if want := reference(t, r); !bytes.Equal(got, want) {
			t.Fatalf("canonical differs\n got %s\nwant %s", got, want)
		}
		prev := bytes.Repeat([]byte{byte(i)}, 32)
		slow, _ := eventstore.ComputeHash(prev, r)
		cr := *r
		cr.Data, _ = jcs.Transform(r.Data)
		cr.Metadata, _ = jcs.Transform(r.Metadata)
		if fast := eventstore.ComputeHashCanonical(prev, &cr); !bytes.Equal(fast, slow) {
			t.Fatalf("fast hash differs from the general one for %s", got)
		}
	}
}

// TestCanonicalIgnoresJSONSpelling: jsonb may print data with other
// spacing and key order; the hash must not change.
func TestCanonicalIgnoresJSONSpelling(t *testing.T) {
	a := &eventstore.Recorded{Position: 1, StreamID: "s", StreamVersion: 1, EventID: uuid.New(), Type: "T",
		Data: []byte(`{"b":1,"a":"x"}`), Metadata: []byte(`{}`), RecordedAt: time.Unix(0, 0)}
	b := *a
	b.Data = []byte(`{"a": "x", "b": 1.0}`)
	ha, _ := eventstore.ComputeHash(eventstore.GenesisHash, a)
	hb, _ := eventstore.ComputeHash(eventstore.GenesisHash, &b)
	if !bytes.Equal(ha, hb) {
		t.Fatal("hash depends on JSON spelling")
	}
	b.Data = []byte(`{"a": "y", "b": 1}`)
	if hc, _ := eventstore.ComputeHash(eventstore.GenesisHash, &b); bytes.Equal(ha, hc) {
		t.Fatal("hash ignores a changed value")
	}
}

func TestCanonicalJSONRejects(t *testing.T) {
	for _, in := range []string{``, `[]`, `"s"`, `{"a":`, `{"a":"\u0000"}`} {
		if _, err := eventstore.CanonicalJSON([]byte(in)); err == nil {
			t.Errorf("CanonicalJSON(%q) accepted", in)
		}
	}
}
