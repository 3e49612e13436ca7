package server_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/sessiond/sessiond/internal/pgtest"
)

// TestTokenEndpoints: POST mints a token for the session that verifies
// against the served JWKS; the discovery document points at that JWKS;
// without configured keys one is generated in the data dir (0600) and
// reused after a restart.
func TestTokenEndpoints(t *testing.T) {
	pool, dbURL := pgtest.NewPool(t)
	dataDir := t.TempDir()
	addr := freeAddr(t)
	s := startServerAt(t, pool, dbURL, addr, "SESSIOND_DATA_DIR", dataDir, "SESSIOND_ISSUER", testIssuer, "SESSIOND_AUDIENCE", "edge")
	admin := s.key("ops")

	started := s.start(admin, "alice", "t-1").json(t)
	raw, _ := started["token"].(string)
	jwksResp := s.do("GET", "/.well-known/jwks.json", "", "")
	if jwksResp.Status != 200 || !strings.HasPrefix(jwksResp.Header.Get("Content-Type"), "application/jwk-set+json") ||
		!strings.Contains(jwksResp.Header.Get("Cache-Control"), "max-age=") {
		t.Fatalf("jwks: %d %v", jwksResp.Status, jwksResp.Header)
	}
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(jwksResp.Body, &set); err != nil || len(set.Keys) != 1 {
		t.Fatalf("jwks body %s: %v", jwksResp.Body, err)
	}
	tok, err := jwt.ParseSigned(raw, []jose.SignatureAlgorithm{jose.EdDSA})
	if err != nil {
		t.Fatalf("token %q: %v", raw, err)
	}
	keys := set.Key(tok.Headers[0].KeyID)
	if len(keys) != 1 {
		t.Fatalf("token kid %s is not in the JWKS", tok.Headers[0].KeyID)
	}
	var std jwt.Claims
	var extra struct {
		SID string `json:"sid"`
	}
	if err := tok.Claims(keys[0].Key, &std, &extra); err != nil {
		t.Fatalf("verify against the JWKS: %v", err)
	}
	expiresAt, _ := time.Parse(time.RFC3339Nano, started["expiresAt"].(string))
	if std.Issuer != testIssuer || !std.Audience.Contains("edge") || std.Subject != "alice" || extra.SID != "t-1" ||
		!std.Expiry.Time().Equal(expiresAt.Truncate(time.Second)) || std.ID == "" || std.IssuedAt == nil {
		t.Errorf("claims %+v sid=%s; want iss/aud/sub/sid/exp=expiresAt(%v)/jti/iat", std, extra.SID, expiresAt)
	}

	disc := s.do("GET", "/.well-known/openid-configuration", "", "").json(t)
	if disc["issuer"] != testIssuer || disc["jwks_uri"] != testIssuer+"/.well-known/jwks.json" {
		t.Errorf("discovery = %v", disc)
	}

	keyPath := filepath.Join(dataDir, "signing-key.pem")
	if st, err := os.Stat(keyPath); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("generated key %s: %v", keyPath, err)
	}
	s.Main.Close()
	again := startServerAt(t, pool, dbURL, addr, "SESSIOND_DATA_DIR", dataDir, "SESSIOND_ISSUER", testIssuer, "SESSIOND_AUDIENCE", "edge")
	if b := again.do("GET", "/.well-known/jwks.json", "", "").Body; string(b) != string(jwksResp.Body) {
		t.Errorf("after a restart the JWKS changed:\n%s\n%s", jwksResp.Body, b)
	}
}
