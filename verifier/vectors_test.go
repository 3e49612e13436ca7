package verifier

import (
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"testing"
	"time"
)

// vectors is verifier/testdata/vectors.json: the feed's semantics as data,
// for this SDK and for verifiers written in other languages (docs/wire.md).
type vectors struct {
	Cases []struct {
		Name           string `json:"name"`
		LeewayMs       int64  `json:"leewayMs"`
		MaxStalenessMs int64  `json:"maxStalenessMs"`
		FailClosed     bool   `json:"failClosed"`
		Steps          []struct {
			// A message.
			Subject     string          `json:"subject"`
			ReceivedAt  time.Time       `json:"receivedAt"`
			Payload     json.RawMessage `json:"payload"`
			PayloadText *string         `json:"payloadText"` // a payload that is not JSON
			// Or a check.
			At        time.Time `json:"at"`
			SessionID string    `json:"sessionId"`
			Want      string    `json:"want"` // ok, revoked or stale
		} `json:"steps"`
	} `json:"cases"`
}

// TestVectors runs the test vectors through the verifier's own message
// handling and Check, at the vectors' instants.
func TestVectors(t *testing.T) {
	b, err := os.ReadFile("testdata/vectors.json")
	if err != nil {
		t.Fatal(err)
	}
	var vs vectors
	if err := json.Unmarshal(b, &vs); err != nil {
		t.Fatal(err)
	}
	if len(vs.Cases) == 0 {
		t.Fatal("no vectors")
	}
	for _, c := range vs.Cases {
		t.Run(c.Name, func(t *testing.T) {
			cfg := defaults()
			cfg.leeway = time.Duration(c.LeewayMs) * time.Millisecond
			cfg.maxStaleness = time.Duration(c.MaxStalenessMs) * time.Millisecond
			cfg.failClosed = c.FailClosed
			cfg.logger = slog.New(slog.DiscardHandler)
			v := &Verifier{cfg: cfg, set: newSet(0, instantUnit)}
			for i, s := range c.Steps {
				if s.Subject != "" {
					payload := []byte(s.Payload)
					if s.PayloadText != nil {
						payload = []byte(*s.PayloadText)
					}
					v.apply(s.Subject, payload, s.ReceivedAt)
					continue
				}
				v.refresh(s.At)
				got := "ok"
				switch err := v.Check(s.SessionID); {
				case errors.Is(err, ErrRevoked):
					got = "revoked"
				case errors.Is(err, ErrStale):
					got = "stale"
				case err != nil:
					got = err.Error()
				}
				if got != s.Want {
					t.Errorf("step %d: Check(%s) at %s = %s, want %s", i+1, s.SessionID, s.At.Format(time.RFC3339Nano), got, s.Want)
				}
			}
		})
	}
}
