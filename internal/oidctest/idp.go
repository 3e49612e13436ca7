// Package oidctest runs a real OpenID Provider (mockoidc: discovery,
// JWKS, authorization and token endpoints) in a test, with the controls
// the admin sign-in tests need: tokens with chosen claims signed by the
// provider's current key, key rotation, and an outage switch; and for
// browser sign-ins (login.go): the next user, reshaped tokens, refusals,
// the requests received, and an end_session_endpoint. It imports
// nothing of the module.
package oidctest

import (
	"crypto/rsa"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/oauth2-proxy/mockoidc"
)

// IdP is a running OpenID Provider.
type IdP struct {
	m    *mockoidc.MockOIDC
	mu   sync.RWMutex // guards m.Keypair against the handlers
	down atomic.Bool
	// Fetches counts JWKS requests answered.
	Fetches atomic.Int64
	login   login
}

// Start runs an IdP on 127.0.0.1 until the test ends.
func Start(tb testing.TB) *IdP {
	tb.Helper()
	m, err := mockoidc.NewServer(nil)
	if err != nil {
		tb.Fatal(err)
	}
	_, _ = m.Keypair.KeyID() // computed once, before handlers share it
	p := &IdP{m: m}
	_ = m.AddMiddleware(func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if p.down.Load() {
				http.Error(w, "down for maintenance", http.StatusServiceUnavailable)
				return
			}
			p.mu.RLock()
			defer p.mu.RUnlock()
			if r.URL.Path == mockoidc.JWKSEndpoint {
				p.Fetches.Add(1)
			}
			next.ServeHTTP(w, r)
		})
	})
	_ = m.AddMiddleware(p.loginMiddleware)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	if err := m.Start(ln, nil); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = m.Shutdown() })
	return p
}

// Issuer is the provider's issuer URL.
func (p *IdP) Issuer() string { return p.m.Issuer() }

// SetDown makes every endpoint answer 503 (true) or serve again (false).
func (p *IdP) SetDown(down bool) { p.down.Store(down) }

// Rotate replaces the provider's signing key: its JWKS publishes only the
// new key from now on.
func (p *IdP) Rotate(tb testing.TB) {
	tb.Helper()
	kp, err := mockoidc.RandomKeypair(2048)
	if err != nil {
		tb.Fatal(err)
	}
	_, _ = kp.KeyID()
	p.mu.Lock()
	p.m.Keypair = kp
	p.mu.Unlock()
}

// Claims returns the claims of a valid access token for sub and aud,
// issued now and valid for ten minutes; change them before Sign.
func (p *IdP) Claims(sub, aud string) jwt.MapClaims {
	now := time.Now()
	return jwt.MapClaims{"iss": p.Issuer(), "sub": sub, "aud": aud, "iat": now.Unix(), "nbf": now.Unix(),
		"exp": now.Add(10 * time.Minute).Unix()}
}

// Sign signs claims with the provider's current key (RS256, with its kid).
func (p *IdP) Sign(tb testing.TB, claims jwt.MapClaims) string {
	tb.Helper()
	p.mu.RLock()
	kp := p.m.Keypair
	p.mu.RUnlock()
	s, err := kp.SignJWT(claims)
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

// PublicKey is the provider's current public key.
func (p *IdP) PublicKey() *rsa.PublicKey {
	p.mu.RLock()
	defer p.mu.RUnlock()
	return p.m.Keypair.PublicKey
}
