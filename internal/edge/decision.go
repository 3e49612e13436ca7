package edge

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/sessiond/sessiond/verifier"
)

// Headers a decision carries: the identity headers of an allowed request
// (the ingress copies them to the upstream request), and the error body of
// a denied one for ingresses that drop the auth response's body (nginx).
const (
	HeaderTokenExpiresAt = "X-Token-Expires-At"
	HeaderEdgeError      = "X-Edge-Error"
)

// Decision is edgeverify's answer for one credential: allowed (Status 200,
// with the token's claims) or denied (401 or 503, with a contract error).
type Decision struct {
	Status int
	Claims verifier.Claims // set when Status is 200
	Deny   *Denial         // set otherwise
}

// Allowed reports whether the request may proceed.
func (d Decision) Allowed() bool { return d.Deny == nil }

// ExpiresAt renders the token's exp for X-Token-Expires-At (RFC 3339, UTC).
func (d Decision) ExpiresAt() string { return d.Claims.Expiry.UTC().Format(time.RFC3339) }

// Denial is a precomputed refusal: one per error code, built once, so a
// denied request costs no encoding.
type Denial struct {
	Status          int
	Code            string
	Body            []byte // the contract's error JSON, newline-terminated
	WWWAuthenticate string // empty for 503

	// header values as ready-made slices, assigned without copying
	jsonType, www, edgeError []string
}

func newDenial(status int, code, message, www string) *Denial {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(verifier.ErrorResponse{StatusCode: status, Error: http.StatusText(status), Message: message, Code: code})
	d := &Denial{Status: status, Code: code, Body: buf.Bytes(), WWWAuthenticate: www,
		jsonType: []string{"application/json"}, edgeError: []string{strings.TrimSuffix(buf.String(), "\n")}}
	if www != "" {
		d.www = []string{www}
	}
	return d
}

// Decider turns a credential into a Decision with the verifier SDK: the
// token's signature and claims (cached by the SDK until exp), then the
// session's revocation state on every call.
type Decider struct {
	v       *verifier.Verifier
	cookie  string // --token-cookie; empty: bearer only
	metrics *decisionMetrics

	missing, invalid, expired, revoked, stale *Denial
}

// NewDecider returns a Decider reading tokens from Authorization: Bearer
// and, when cookie is not empty, from the cookie of that name.
func NewDecider(v *verifier.Verifier, cookie string) *Decider {
	where := "Authorization: Bearer <token>"
	if cookie != "" {
		where += " or the " + cookie + " cookie"
	}
	const invalidToken = `Bearer error="invalid_token"`
	return &Decider{v: v, cookie: cookie,
		// RFC 6750 §3.1: no error attribute when no credential was sent.
		missing: newDenial(401, verifier.CodeTokenInvalid, "a session token is required: "+where, "Bearer"),
		invalid: newDenial(401, verifier.CodeTokenInvalid, "the session token is not valid", invalidToken),
		expired: newDenial(401, verifier.CodeTokenExpired, "the session token has expired", invalidToken),
		revoked: newDenial(401, verifier.CodeSessionRevoked, "the session has been revoked", invalidToken),
		stale:   newDenial(503, verifier.CodeRevocationsStale, "the revocation feed is stale; try again shortly", ""),
	}
}

// Decide checks a token ("" when the request carried none).
func (d *Decider) Decide(ctx context.Context, token string) Decision {
	if token == "" {
		return Decision{Status: d.missing.Status, Deny: d.missing}
	}
	c, err := d.v.VerifyToken(ctx, token)
	switch {
	case errors.Is(err, verifier.ErrTokenExpired):
		return Decision{Status: d.expired.Status, Deny: d.expired}
	case err != nil:
		return Decision{Status: d.invalid.Status, Deny: d.invalid}
	}
	switch err := d.v.Check(c.SessionID); {
	case err == nil:
		return Decision{Status: http.StatusOK, Claims: c}
	case errors.Is(err, verifier.ErrRevoked):
		return Decision{Status: d.revoked.Status, Deny: d.revoked}
	default:
		return Decision{Status: d.stale.Status, Deny: d.stale}
	}
}

// Token returns the credential of a request given its Authorization and
// Cookie header values: a Bearer token wins; otherwise the configured
// cookie; otherwise "".
func (d *Decider) Token(authorization string, cookies func() []*http.Cookie) string {
	scheme, tok, ok := strings.Cut(authorization, " ")
	if tok = strings.TrimSpace(tok); ok && strings.EqualFold(scheme, "Bearer") && tok != "" {
		return tok
	}
	if d.cookie == "" || cookies == nil {
		return ""
	}
	for _, c := range cookies() {
		if c.Name == d.cookie {
			return c.Value
		}
	}
	return ""
}
