package server_test

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/sessiond/sessiond/internal/oidctest"
	"github.com/sessiond/sessiond/internal/pgtest"
)

const adminAud = "sessiond-admin"

// startOIDCServer starts sessiond accepting access tokens from idp: the
// groups claim maps ops to revoking and reading sessions and auditors to
// reading the audit log, and mfa is required.
func startOIDCServer(t *testing.T, idp *oidctest.IdP) *testServer {
	t.Helper()
	pool, dbURL := pgtest.NewPool(t)
	return startServerOn(t, pool, dbURL,
		"SESSIOND_ADMIN_OIDC_ISSUER", idp.Issuer(),
		"SESSIOND_ADMIN_OIDC_AUDIENCE", adminAud,
		"SESSIOND_ADMIN_OIDC_SCOPE_CLAIM", "groups",
		"SESSIOND_ADMIN_OIDC_SCOPE_MAP", "ops=sessions:revoke,ops=sessions:read,auditors=audit:read",
		"SESSIOND_ADMIN_OIDC_REQUIRE_AMR", "mfa")
}

// person returns the claims of ada's access token: in ops and auditors,
// signed in with a password and a second factor.
func person(idp *oidctest.IdP) jwt.MapClaims {
	c := idp.Claims("ada-7f3", adminAud)
	c["email"], c["name"] = "ada@example.com", "Ada Lovelace"
	c["groups"] = []string{"ops", "auditors"}
	c["amr"] = []string{"pwd", "mfa"}
	return c
}

func wantError(t *testing.T, r response, status int, code string) map[string]any {
	t.Helper()
	if r.Status != status {
		t.Fatalf("status = %d, want %d: %s", r.Status, status, r.Body)
	}
	body := r.json(t)
	if body["code"] != code {
		t.Fatalf("code = %v, want %s: %s", body["code"], code, r.Body)
	}
	return body
}

// A person's access token revokes a session; the log names them (sub,
// iss, email, amr), never the token, and the audit filter finds them.
func TestAdminOIDCRevoke(t *testing.T) {
	idp := oidctest.Start(t)
	s := startOIDCServer(t, idp)
	s.start(s.key("writer", "sessions:write"), "u-1", "s-1")
	tok := idp.Sign(t, person(idp))

	r := s.do("DELETE", "/auth/admin/api/users/u-1/sessions/s-1", tok, `{"reason":"laptop stolen"}`)
	if r.Status != http.StatusOK {
		t.Fatalf("revoke = %d %s", r.Status, r.Body)
	}
	if got, want := r.json(t)["revokedBy"], "ada@example.com"; got != want {
		t.Errorf("revokedBy = %v, want %v", got, want)
	}
	var meta, data string
	if err := s.Pool.QueryRow(t.Context(), `SELECT metadata::text, data::text FROM events WHERE type = 'SessionRevoked'`).Scan(&meta, &data); err != nil {
		t.Fatal(err)
	}
	for _, col := range []string{meta, data} {
		for _, want := range []string{`"kind": "oidc"`, `"sub": "ada-7f3"`, `"iss": "` + idp.Issuer() + `"`, `"email": "ada@example.com"`, `"amr": ["pwd", "mfa"]`} {
			if !strings.Contains(col, want) {
				t.Errorf("%s lacks %s", col, want)
			}
		}
		if strings.Contains(col, tok[strings.LastIndexByte(tok, '.')+1:]) || strings.Contains(col, "keyId") {
			t.Errorf("%s holds the token or a key id", col)
		}
	}

	r = s.do("GET", "/auth/admin/api/audit/events?actor=ada-7f3", tok, "")
	if r.Status != http.StatusOK {
		t.Fatalf("audit = %d %s", r.Status, r.Body)
	}
	events, _ := r.json(t)["events"].([]any)
	if len(events) != 1 || events[0].(map[string]any)["type"] != "SessionRevoked" {
		t.Fatalf("audit ?actor=ada-7f3 = %s, want the one SessionRevoked", r.Body)
	}

	// Her own audit reads are events by her too: ask for the revocation.
	r = s.do("GET", "/auth/admin/api/audit/events?actor=ada-7f3&type=SessionRevoked", tok, "", "Accept", "text/csv")
	if lines := strings.Split(strings.TrimSpace(string(r.Body)), "\n"); r.Status != http.StatusOK || len(lines) != 2 ||
		!strings.Contains(lines[1], ",SessionRevoked,") || !strings.Contains(lines[1], ",,ada@example.com,,laptop stolen,") {
		t.Errorf("CSV export = %d %s", r.Status, r.Body)
	}

	r = s.do("GET", "/auth/admin/api/users/u-1/sessions/s-1", tok, "")
	if got := r.json(t)["revokedBy"]; got != "ada@example.com" {
		t.Errorf("GET session revokedBy = %v", got)
	}
}

// Every bad token is 401 ADMIN_SESSION_INVALID; a valid one without the
// scope or without mfa is 403 FORBIDDEN.
func TestAdminOIDCRefused(t *testing.T) {
	idp := oidctest.Start(t)
	s := startOIDCServer(t, idp)
	s.start(s.key("writer", "sessions:write"), "u-1", "s-1")
	revoke := func(tok string) response {
		return s.do("DELETE", "/auth/admin/api/users/u-1/sessions/s-1", tok, "")
	}
	with := func(change func(jwt.MapClaims)) string {
		c := person(idp)
		change(c)
		return idp.Sign(t, c)
	}
	stranger, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	unknownKey := jwt.NewWithClaims(jwt.SigningMethodRS256, person(idp))
	unknownKey.Header["kid"] = "not-published"
	unknownSigned, err := unknownKey.SignedString(stranger)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(idp.PublicKey())
	if err != nil {
		t.Fatal(err)
	}
	pubPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
	hs := jwt.NewWithClaims(jwt.SigningMethodHS256, person(idp))
	hsSigned, err := hs.SignedString(pubPEM)
	if err != nil {
		t.Fatal(err)
	}
	good := idp.Sign(t, person(idp))
	header, payload := "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0", strings.Split(good, ".")[1]
	for name, tok := range map[string]string{
		"wrong aud":        with(func(c jwt.MapClaims) { c["aud"] = "someone-else" }),
		"expired":          with(func(c jwt.MapClaims) { c["exp"] = time.Now().Add(-2 * time.Minute).Unix() }),
		"not yet valid":    with(func(c jwt.MapClaims) { c["nbf"] = time.Now().Add(5 * time.Minute).Unix() }),
		"other issuer":     with(func(c jwt.MapClaims) { c["iss"] = "https://evil.example" }),
		"no sub":           with(func(c jwt.MapClaims) { delete(c, "sub") }),
		"huge sub":         with(func(c jwt.MapClaims) { c["sub"] = strings.Repeat("x", 256) }),
		"unknown key":      unknownSigned,
		"hs256 public key": hsSigned,
		"alg none":         header + "." + payload + ".",
		"alg none signed":  header + "." + payload + "." + base64.RawURLEncoding.EncodeToString([]byte("sig")),
		"tampered":         strings.Replace(good, payload, base64.RawURLEncoding.EncodeToString([]byte(`{"sub":"root"}`)), 1),
		"not a credential": "hello",
	} {
		t.Run(name, func(t *testing.T) {
			wantError(t, revoke(tok), http.StatusUnauthorized, "ADMIN_SESSION_INVALID")
		})
	}
	t.Run("no scope", func(t *testing.T) {
		body := wantError(t, revoke(with(func(c jwt.MapClaims) { c["groups"] = []string{"auditors"} })), http.StatusForbidden, "FORBIDDEN")
		if msg, _ := body["message"].(string); !strings.Contains(msg, "sessions:revoke") {
			t.Errorf("message %q does not name the scope", msg)
		}
	})
	t.Run("no mfa", func(t *testing.T) {
		body := wantError(t, revoke(with(func(c jwt.MapClaims) { c["amr"] = []string{"pwd"} })), http.StatusForbidden, "FORBIDDEN")
		if msg, _ := body["message"].(string); !strings.Contains(msg, "mfa") {
			t.Errorf("message %q does not name mfa", msg)
		}
	})
	if n := s.count("type = 'SessionRevoked'"); n != 0 {
		t.Errorf("%d revocations recorded by refused tokens", n)
	}
}

// The provider rotates its key: a token signed by the new key is accepted
// at once (unknown kid: the JWKS is fetched again). While the provider is
// down, the cached key still verifies, and a token with a key sessiond
// never saw is 503 UNAVAILABLE, not a verdict on the token.
func TestAdminOIDCRotationAndOutage(t *testing.T) {
	idp := oidctest.Start(t)
	s := startOIDCServer(t, idp)
	list := func(tok string) response { return s.do("GET", "/auth/admin/api/users/u-1/sessions", tok, "") }
	s.start(s.key("writer", "sessions:write"), "u-1", "s-1")
	if r := list(idp.Sign(t, person(idp))); r.Status != http.StatusOK {
		t.Fatalf("before rotation = %d %s", r.Status, r.Body)
	}
	idp.Rotate(t)
	rotated := idp.Sign(t, person(idp))
	if r := list(rotated); r.Status != http.StatusOK {
		t.Fatalf("after rotation = %d %s", r.Status, r.Body)
	}

	idp.SetDown(true)
	if r := list(rotated); r.Status != http.StatusOK {
		t.Fatalf("issuer down, cached key = %d %s", r.Status, r.Body)
	}
	idp.Rotate(t)
	wantError(t, list(idp.Sign(t, person(idp))), http.StatusServiceUnavailable, "UNAVAILABLE")
	idp.SetDown(false)
	if m := string(s.do("GET", "/metrics", "", "").Body); !strings.Contains(m, `sessiond_admin_authentications_total{credential="token",outcome="unavailable"} `) ||
		strings.Contains(m, `sessiond_admin_authentications_total{credential="token",outcome="unavailable"} 0`) {
		t.Errorf("no unavailable token authentication counted")
	}
}
