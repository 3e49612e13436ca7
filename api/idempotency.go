package api

import (
	"encoding/json"
	"net/http"

	"github.com/dunglas/httpsfv"

	"github.com/sessiond/sessiond/domain"
	"github.com/sessiond/sessiond/internal/app"
)

// IdempotencyKeyHeader names the request header that makes a POST or
// DELETE safe to retry (IETF httpapi draft "The Idempotency-Key HTTP
// Header Field"): its value is a Structured Field string, e.g.
// Idempotency-Key: "8e03978e-40d5-43e8-bc93-6894a57f9324".
const IdempotencyKeyHeader = "Idempotency-Key"

// maxIdempotencyKey bounds the key's length in characters.
const maxIdempotencyKey = 255

// idempotency reads the request's Idempotency-Key, if any, and
// fingerprints the request: method, path and the decoded body, so that
// the same JSON with other spacing or member order is the same request.
func idempotency(r *http.Request, body any) (*app.Idempotency, error) {
	values := r.Header.Values(IdempotencyKeyHeader)
	if len(values) == 0 {
		return nil, nil
	}
	item, err := httpsfv.UnmarshalItem(values)
	key, isString := item.Value.(string)
	if err != nil || !isString {
		return nil, domain.Errorf(domain.CodeValidation, `Idempotency-Key must be a quoted string (a Structured Field string), e.g. Idempotency-Key: "8e03978e-40d5-43e8-bc93-6894a57f9324"`)
	}
	if key == "" || len(key) > maxIdempotencyKey {
		return nil, domain.Errorf(domain.CodeValidation, "Idempotency-Key must be 1 to %d characters", maxIdempotencyKey)
	}
	fp, err := app.Fingerprint(r.Method, r.URL.EscapedPath(), body)
	if err != nil {
		return nil, domain.Errorf(domain.CodeValidation, "the request body cannot be fingerprinted")
	}
	return &app.Idempotency{Key: key, Request: fp}, nil
}

// correlationOf returns the correlation id recorded with recs.
func correlationOf(recs []app.Event) string {
	if len(recs) == 0 {
		return ""
	}
	var m struct {
		CorrelationID string `json:"correlationId"`
	}
	_ = json.Unmarshal(recs[0].Metadata, &m)
	return m.CorrelationID
}
