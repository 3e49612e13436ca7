// Package receiver is the receiving side of sessiond's Shared Signals
// transmitter, for tests and for users who want a small SSF receiver: it
// validates SETs as RFC 8417, SSF 1.0 and the CAEP interoperability profile
// require (RS256 signature via the transmitter's JWKS, typ, iss, aud, jti,
// no sub or exp, one event, subject formats) and de-duplicates by jti.
//
// It imports only the standard library and go-jose: nothing of the server.
package receiver

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// Errors of Validate, each carrying its RFC 8935 error code (Code).
var (
	ErrInvalidRequest  = errors.New("invalid_request")
	ErrInvalidKey      = errors.New("invalid_key")
	ErrInvalidIssuer   = errors.New("invalid_issuer")
	ErrInvalidAudience = errors.New("invalid_audience")
	// ErrUnavailable is returned when the transmitter's JWKS cannot be
	// fetched: the receiver's problem, not the SET's (a push endpoint
	// answers 503, so the transmitter retries).
	ErrUnavailable = errors.New("jwks unavailable")
	// ErrDuplicate is returned for a SET whose jti was seen before; a push
	// endpoint acknowledges it (202) without handling it again.
	ErrDuplicate = errors.New("duplicate jti")
)

// Config configures a Receiver.
type Config struct {
	Issuer   string   // the transmitter's issuer: every SET's iss must equal it
	Audience []string // accepted aud values; a SET must name at least one
	JWKSURL  string   // the transmitter's jwks_uri
	Client   *http.Client
}

// SET is a validated Security Event Token.
type SET struct {
	JTI       string
	Issuer    string
	Audience  []string
	IssuedAt  time.Time
	TXN       string
	Subject   map[string]any // sub_id
	EventType string
	Event     map[string]any
	Raw       string
}

// Receiver validates SETs. It is safe for concurrent use.
type Receiver struct {
	cfg Config

	mu        sync.Mutex
	keys      jose.JSONWebKeySet
	fetchedAt time.Time
	seen      map[string]bool
	dups      int
}

// New returns a Receiver.
func New(cfg Config) *Receiver {
	if cfg.Client == nil {
		cfg.Client = &http.Client{Timeout: 10 * time.Second}
	}
	return &Receiver{cfg: cfg, seen: map[string]bool{}}
}

// Duplicates returns how many SETs were refused as already seen.
func (r *Receiver) Duplicates() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.dups
}

// Validate checks one SET and records its jti. A SET seen before yields
// the SET and ErrDuplicate.
func (r *Receiver) Validate(ctx context.Context, token string) (*SET, error) {
	obj, err := jose.ParseSigned(strings.TrimSpace(token), []jose.SignatureAlgorithm{jose.RS256})
	if err != nil {
		return nil, fmt.Errorf("%w: not an RS256 JWS: %v", ErrInvalidRequest, err)
	}
	if len(obj.Signatures) != 1 {
		return nil, fmt.Errorf("%w: want exactly one signature", ErrInvalidRequest)
	}
	h := obj.Signatures[0].Header
	typ, _ := h.ExtraHeaders[jose.HeaderType].(string)
	if typ != "secevent+jwt" && typ != "application/secevent+jwt" {
		return nil, fmt.Errorf("%w: typ %q is not secevent+jwt", ErrInvalidRequest, typ)
	}
	key, err := r.key(ctx, h.KeyID)
	if err != nil {
		return nil, err
	}
	payload, err := obj.Verify(key)
	if err != nil {
		return nil, fmt.Errorf("%w: signature: %v", ErrInvalidKey, err)
	}
	set, err := r.claims(payload)
	if err != nil {
		return nil, err
	}
	set.Raw = token
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.seen[set.JTI] {
		r.dups++
		return set, ErrDuplicate
	}
	r.seen[set.JTI] = true
	return set, nil
}

// claims checks the SET's claims (RFC 8417 section 2, SSF 1.0 section 4.1).
func (r *Receiver) claims(payload []byte) (*SET, error) {
	var c struct {
		Iss    string                     `json:"iss"`
		Aud    json.RawMessage            `json:"aud"`
		IAT    *float64                   `json:"iat"`
		JTI    string                     `json:"jti"`
		TXN    string                     `json:"txn"`
		Sub    *json.RawMessage           `json:"sub"`
		Exp    *json.RawMessage           `json:"exp"`
		SubID  map[string]any             `json:"sub_id"`
		Events map[string]json.RawMessage `json:"events"`
	}
	if err := json.Unmarshal(payload, &c); err != nil {
		return nil, fmt.Errorf("%w: claims: %v", ErrInvalidRequest, err)
	}
	if c.Iss != r.cfg.Issuer {
		return nil, fmt.Errorf("%w: iss %q, want %q", ErrInvalidIssuer, c.Iss, r.cfg.Issuer)
	}
	var aud []string
	var one string
	if json.Unmarshal(c.Aud, &one) == nil {
		aud = []string{one}
	} else if json.Unmarshal(c.Aud, &aud) != nil {
		return nil, fmt.Errorf("%w: aud is neither a string nor an array", ErrInvalidAudience)
	}
	if !slices.ContainsFunc(aud, func(a string) bool { return slices.Contains(r.cfg.Audience, a) }) {
		return nil, fmt.Errorf("%w: aud %v names none of %v", ErrInvalidAudience, aud, r.cfg.Audience)
	}
	switch {
	case c.JTI == "":
		return nil, fmt.Errorf("%w: no jti", ErrInvalidRequest)
	case c.IAT == nil:
		return nil, fmt.Errorf("%w: no iat", ErrInvalidRequest)
	case c.Sub != nil:
		return nil, fmt.Errorf("%w: SSF SETs must not carry sub", ErrInvalidRequest)
	case c.Exp != nil:
		return nil, fmt.Errorf("%w: SSF SETs must not carry exp", ErrInvalidRequest)
	case len(c.Events) != 1:
		return nil, fmt.Errorf("%w: want exactly one event, got %d", ErrInvalidRequest, len(c.Events))
	}
	set := &SET{JTI: c.JTI, Issuer: c.Iss, Audience: aud, IssuedAt: time.Unix(int64(*c.IAT), 0), TXN: c.TXN, Subject: c.SubID}
	for typ, raw := range c.Events {
		set.EventType = typ
		if err := json.Unmarshal(raw, &set.Event); err != nil || set.Event == nil {
			return nil, fmt.Errorf("%w: event %s is not an object", ErrInvalidRequest, typ)
		}
	}
	if err := checkSubject(set); err != nil {
		return nil, err
	}
	return set, nil
}

// Event types this receiver checks closely.
const (
	SessionRevoked = "https://schemas.openid.net/secevent/caep/event-type/session-revoked"
	Verification   = "https://schemas.openid.net/secevent/ssf/event-type/verification"
	StreamUpdated  = "https://schemas.openid.net/secevent/ssf/event-type/stream-updated"
)

// checkSubject checks sub_id: RFC 9493 formats, a complex subject with a
// session for session-revoked (and a non-empty reason_admin, as the CAEP
// interoperability profile requires), opaque stream ids for SSF events.
func checkSubject(s *SET) error {
	if err := subjectID(s.Subject, true); err != nil {
		return fmt.Errorf("%w: sub_id: %v", ErrInvalidRequest, err)
	}
	switch s.EventType {
	case SessionRevoked:
		sess, _ := s.Subject["session"].(map[string]any)
		if s.Subject["format"] != "complex" || sess == nil || s.Subject["user"] == nil {
			return fmt.Errorf("%w: session-revoked needs a complex sub_id with user and session", ErrInvalidRequest)
		}
		reason, _ := s.Event["reason_admin"].(map[string]any)
		if len(reason) == 0 {
			return fmt.Errorf("%w: session-revoked needs reason_admin", ErrInvalidRequest)
		}
		if _, ok := s.Event["event_timestamp"].(float64); !ok {
			return fmt.Errorf("%w: session-revoked needs event_timestamp", ErrInvalidRequest)
		}
	case Verification, StreamUpdated:
		if s.Subject["format"] != "opaque" {
			return fmt.Errorf("%w: %s needs an opaque sub_id (the stream id)", ErrInvalidRequest, s.EventType)
		}
	}
	return nil
}

// subjectID checks one RFC 9493 subject identifier; complex subjects (SSF
// 1.0 section 3.3) only at the top.
func subjectID(m map[string]any, top bool) error {
	if m == nil {
		return errors.New("missing")
	}
	format, _ := m["format"].(string)
	required := map[string][]string{
		"email": {"email"}, "iss_sub": {"iss", "sub"}, "opaque": {"id"}, "phone_number": {"phone_number"},
		"account": {"uri"}, "did": {"url"}, "uri": {"uri"},
	}
	if format == "complex" && top {
		n := 0
		for k, v := range m {
			if k == "format" {
				continue
			}
			member, ok := v.(map[string]any)
			if !ok {
				return fmt.Errorf("member %s is not an object", k)
			}
			if err := subjectID(member, false); err != nil {
				return fmt.Errorf("member %s: %v", k, err)
			}
			n++
		}
		if n == 0 {
			return errors.New("complex subject without members")
		}
		return nil
	}
	fields, ok := required[format]
	if !ok {
		return fmt.Errorf("unknown format %q", format)
	}
	for _, f := range fields {
		if v, _ := m[f].(string); v == "" {
			return fmt.Errorf("%s subject without %s", format, f)
		}
	}
	return nil
}

// key returns the JWKS key with kid, fetching the JWKS when the kid is
// unknown (at most once a second).
func (r *Receiver) key(ctx context.Context, kid string) (*jose.JSONWebKey, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if ks := r.keys.Key(kid); len(ks) > 0 {
		return &ks[0], nil
	}
	if time.Since(r.fetchedAt) < time.Second {
		return nil, fmt.Errorf("%w: unknown kid %q", ErrInvalidKey, kid)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, r.cfg.JWKSURL, nil)
	if err != nil {
		return nil, err
	}
	resp, err := r.cfg.Client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%w: HTTP %d", ErrUnavailable, resp.StatusCode)
	}
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(body, &set); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	r.keys, r.fetchedAt = set, time.Now()
	if ks := r.keys.Key(kid); len(ks) > 0 {
		return &ks[0], nil
	}
	return nil, fmt.Errorf("%w: unknown kid %q", ErrInvalidKey, kid)
}

// Code returns the RFC 8935 error code of a Validate error.
func Code(err error) string {
	for _, e := range []error{ErrInvalidKey, ErrInvalidIssuer, ErrInvalidAudience} {
		if errors.Is(err, e) {
			return e.Error()
		}
	}
	return ErrInvalidRequest.Error()
}
