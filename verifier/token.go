package verifier

import (
	"context"
	"crypto/sha256"
	"errors"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// ErrTokenInvalid is returned by VerifyToken for a token that is
// malformed, not signed by a published key, or not for this issuer and
// audience.
var ErrTokenInvalid = errors.New("verifier: token invalid")

// ErrTokenExpired is returned by VerifyToken for a token past its exp.
var ErrTokenExpired = errors.New("verifier: token expired")

// Claims are what a verified session token says.
type Claims struct {
	Subject   string    // the user id
	SessionID string    // the sid claim
	Expiry    time.Time // exp
}

// maxCachedTokens bounds the verified-token cache; past it the cache is
// emptied and refills.
const maxCachedTokens = 100_000

// tokenCheck verifies session tokens against the authority's JWKS and
// caches the result until the token expires, so a repeat request costs a
// hash and a map lookup instead of an Ed25519 verification.
type tokenCheck struct {
	keys     *jwks
	issuer   string
	audience string
	leeway   time.Duration

	mu    sync.RWMutex
	cache map[[32]byte]Claims
}

// verify checks token at now. A token whose exp plus leeway is at or
// before forgot (the set's forgotten horizon) is refused as expired
// whatever now says: its session's revocation may have been dropped when
// the clock read later than now does (the clock was set back since).
func (t *tokenCheck) verify(ctx context.Context, token string, now time.Time, forgot int64) (Claims, error) {
	h := sha256.Sum256([]byte(token))
	t.mu.RLock()
	c, ok := t.cache[h]
	t.mu.RUnlock()
	if ok {
		if !now.Before(c.Expiry.Add(t.leeway)) || t.forgotten(c, forgot) {
			return Claims{}, ErrTokenExpired
		}
		return c, nil
	}
	c, err := t.verifySlow(ctx, token, now)
	if err != nil {
		return Claims{}, err
	}
	if t.forgotten(c, forgot) {
		return Claims{}, ErrTokenExpired
	}
	t.mu.Lock()
	if len(t.cache) >= maxCachedTokens {
		clear(t.cache)
	}
	t.cache[h] = c
	t.mu.Unlock()
	return c, nil
}

// forgotten reports whether c's revocation, if any, may have been dropped:
// its last instant (exp plus leeway) is at or before the horizon forgot.
func (t *tokenCheck) forgotten(c Claims, forgot int64) bool {
	return forgot != 0 && c.Expiry.Add(t.leeway).UnixNano() <= forgot
}

func (t *tokenCheck) verifySlow(ctx context.Context, token string, now time.Time) (Claims, error) {
	tok, err := jwt.ParseSigned(token, []jose.SignatureAlgorithm{jose.EdDSA})
	if err != nil || len(tok.Headers) != 1 {
		return Claims{}, ErrTokenInvalid
	}
	key, err := t.keys.key(ctx, tok.Headers[0].KeyID)
	if err != nil {
		return Claims{}, ErrTokenInvalid
	}
	var (
		std    jwt.Claims
		custom struct {
			SessionID string `json:"sid"`
		}
	)
	if err := tok.Claims(key, &std, &custom); err != nil {
		return Claims{}, ErrTokenInvalid
	}
	err = std.ValidateWithLeeway(jwt.Expected{Issuer: t.issuer, AnyAudience: jwt.Audience{t.audience}, Time: now}, t.leeway)
	switch {
	case errors.Is(err, jwt.ErrExpired):
		return Claims{}, ErrTokenExpired
	case err != nil, custom.SessionID == "", std.Expiry == nil:
		return Claims{}, ErrTokenInvalid
	}
	return Claims{Subject: std.Subject, SessionID: custom.SessionID, Expiry: std.Expiry.Time()}, nil
}

// VerifyToken checks a session token's signature against the JWKS, then
// exp, nbf, aud and iss (with the configured leeway), and returns its
// claims. It does not check revocation: Check(claims.SessionID) does.
// A token is also refused as expired when the verifier has dropped
// revocations kept as long as it (its clock read later before and was set
// back since): it can no longer tell whether that session was revoked.
// It needs WithJWKS.
func (v *Verifier) VerifyToken(ctx context.Context, token string) (Claims, error) {
	if v.tokens == nil {
		return Claims{}, errors.New("verifier: no JWKS configured (WithJWKS)")
	}
	return v.tokens.verify(ctx, token, v.cfg.now(), v.set.forgotten())
}

// bearer returns the token of an "Authorization: Bearer" header.
func bearer(r *http.Request) (string, bool) {
	scheme, tok, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	tok = strings.TrimSpace(tok)
	return tok, ok && strings.EqualFold(scheme, "Bearer") && tok != ""
}

type claimsKey struct{}

// ClaimsFrom returns the verified claims Middleware put in a request's
// context.
func ClaimsFrom(ctx context.Context) (Claims, bool) {
	c, ok := ctx.Value(claimsKey{}).(Claims)
	return c, ok
}
