package app

import (
	"context"
	"strings"
)

// People verifies the OIDC access tokens that people present instead of
// admin keys. internal/adminoidc implements it over the issuers' discovery
// documents and JWKS; the console reuses it for its own sign-in.
type People interface {
	// Verify checks a JWT access token and returns its principal: a
	// Person actor and the scopes its claims map to. A token that fails
	// verification is ADMIN_SESSION_INVALID; a valid token that lacks a
	// required authentication method is FORBIDDEN; an issuer that cannot
	// be reached while no usable keys are cached is UNAVAILABLE.
	Verify(ctx context.Context, token string) (*Principal, error)
}

// WithPeople makes the service accept OIDC access tokens checked by v
// beside admin keys. It returns s.
func (s *Service) WithPeople(v People) *Service {
	s.people = v
	return s
}

// JWTShaped reports whether s looks like a compact JWS: three non-empty
// base64url segments separated by dots (an "alg": "none" token, whose
// signature segment is empty, is not).
func JWTShaped(s string) bool {
	parts := strings.Split(s, ".")
	if len(parts) != 3 {
		return false
	}
	for _, p := range parts {
		if p == "" {
			return false
		}
		for i := 0; i < len(p); i++ {
			c := p[i]
			if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return false
			}
		}
	}
	return true
}
