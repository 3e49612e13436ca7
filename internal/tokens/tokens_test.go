package tokens_test

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/sessiond/sessiond/internal/tokens"
)

func newKey(t *testing.T) tokens.Key {
	t.Helper()
	k, err := tokens.WriteKeyFile(filepath.Join(t.TempDir(), "k.pem"))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// TestMint: an EdDSA JWT with kid, and exactly the claims the contract
// names, verifiable with the published JWKS alone.
func TestMint(t *testing.T) {
	signing, other := newKey(t), newKey(t)
	iss, err := tokens.NewIssuer("https://auth.example", "edge", []tokens.Key{signing, other})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Unix(1_800_000_000, 0)
	exp := now.Add(90 * time.Minute)
	raw, err := iss.Mint("user|1", "s-1", exp, now)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := jwt.ParseSigned(raw, []jose.SignatureAlgorithm{jose.EdDSA})
	if err != nil {
		t.Fatal(err)
	}
	if h := tok.Headers[0]; h.KeyID != signing.ID || h.Algorithm != "EdDSA" {
		t.Errorf("header kid=%s alg=%s; want kid=%s alg=EdDSA", h.KeyID, h.Algorithm, signing.ID)
	}
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(iss.JWKS(), &set); err != nil {
		t.Fatal(err)
	}
	if len(set.Keys) != 2 || set.Keys[0].KeyID != signing.ID || set.Keys[1].KeyID != other.ID {
		t.Fatalf("JWKS = %s; want both keys, signing first", iss.JWKS())
	}
	for _, k := range set.Keys {
		if !k.IsPublic() || k.Algorithm != "EdDSA" || k.Use != "sig" {
			t.Errorf("published key %s: public=%v alg=%s use=%s", k.KeyID, k.IsPublic(), k.Algorithm, k.Use)
		}
	}
	var std jwt.Claims
	var all map[string]any
	if err := tok.Claims(set.Key(signing.ID)[0].Key, &std, &all); err != nil {
		t.Fatalf("verify with the JWKS: %v", err)
	}
	if err := std.ValidateWithLeeway(jwt.Expected{Issuer: "https://auth.example", AnyAudience: jwt.Audience{"edge"}, Time: now}, 0); err != nil {
		t.Error(err)
	}
	if std.Subject != "user|1" || all["sid"] != "s-1" || std.Expiry.Time() != exp || std.IssuedAt.Time() != now || len(std.ID) != 36 {
		t.Errorf("claims = %v", all)
	}
	want := []string{"aud", "exp", "iat", "iss", "jti", "sid", "sub"}
	if len(all) != len(want) {
		t.Errorf("claims %v; want exactly %v", all, want)
	}
	if err := tok.Claims(set.Key(other.ID)[0].Key, &std); err == nil {
		t.Error("the token verifies with the non-signing key")
	}
	again, _ := iss.Mint("user|1", "s-1", exp, now)
	var second jwt.Claims
	if t2, err := jwt.ParseSigned(again, []jose.SignatureAlgorithm{jose.EdDSA}); err != nil || t2.UnsafeClaimsWithoutVerification(&second) != nil || second.ID == std.ID {
		t.Errorf("two tokens for the same session share jti %s", std.ID)
	}
}

func TestDiscovery(t *testing.T) {
	iss, _ := tokens.NewIssuer("https://auth.example/", "edge", []tokens.Key{newKey(t)})
	var doc map[string]any
	if err := json.Unmarshal(iss.Discovery(), &doc); err != nil {
		t.Fatal(err)
	}
	if doc["issuer"] != "https://auth.example/" || doc["jwks_uri"] != "https://auth.example/.well-known/jwks.json" {
		t.Errorf("discovery = %v", doc)
	}
}

// TestKeyFiles: generated keys are PKCS#8 PEM with mode 0600, reused on the
// next start, and never overwritten; bad files fail with the path.
func TestKeyFiles(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "data", "signing-key.pem")
	first, err := tokens.EnsureKeyFile(path)
	if err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("key file mode = %v, want 0600", st.Mode().Perm())
	}
	again, err := tokens.EnsureKeyFile(path)
	if err != nil || again.ID != first.ID || !again.Private.Equal(first.Private) {
		t.Errorf("second start: %v, kid %s; want the same key %s", err, again.ID, first.ID)
	}
	if _, err := tokens.WriteKeyFile(path); err == nil {
		t.Error("WriteKeyFile overwrote an existing key")
	}
	if loaded, err := tokens.LoadKeyFile(path); err != nil || loaded.ID != first.ID {
		t.Errorf("LoadKeyFile = %v %s", err, loaded.ID)
	}

	bad := map[string]string{
		"empty.pem": "",
		"cert.pem":  "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
		"junk.pem":  "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
	}
	for name, content := range bad {
		p := filepath.Join(dir, name)
		os.WriteFile(p, []byte(content), 0o600)
		if _, err := tokens.LoadKeyFile(p); err == nil || !strings.Contains(err.Error(), p) {
			t.Errorf("%s: err = %v; want an error naming the file", name, err)
		}
	}
	if _, err := tokens.LoadKeyFile(filepath.Join(dir, "missing.pem")); err == nil {
		t.Error("a missing key file loaded")
	}
}

// TestKeyID is the RFC 7638 thumbprint, recomputed here by hand.
func TestKeyID(t *testing.T) {
	k := newKey(t)
	x := base64.RawURLEncoding.EncodeToString(k.Public())
	sum := sha256.Sum256([]byte(`{"crv":"Ed25519","kty":"OKP","x":"` + x + `"}`))
	if want := base64.RawURLEncoding.EncodeToString(sum[:]); k.ID != want {
		t.Errorf("kid = %s, want the thumbprint %s", k.ID, want)
	}
}

// TestJWS: a signed payload verifies with the JWKS, and not once altered
// or against another key set.
func TestJWS(t *testing.T) {
	iss, _ := tokens.NewIssuer("https://auth.example", "edge", []tokens.Key{newKey(t)})
	jws, err := iss.SignJWS([]byte(`{"position":7}`))
	if err != nil {
		t.Fatal(err)
	}
	payload, kid, err := tokens.VerifyJWS(jws, iss.JWKS())
	if err != nil || string(payload) != `{"position":7}` || kid != iss.SigningKeyID() {
		t.Fatalf("VerifyJWS = %s %s %v", payload, kid, err)
	}
	parts := strings.Split(jws, ".")
	forged := parts[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(`{"position":8}`)) + "." + parts[2]
	if _, _, err := tokens.VerifyJWS(forged, iss.JWKS()); err == nil {
		t.Error("an altered payload verified")
	}
	other, _ := tokens.NewIssuer("https://auth.example", "edge", []tokens.Key{newKey(t)})
	if _, _, err := tokens.VerifyJWS(jws, other.JWKS()); err == nil {
		t.Error("verified against a JWKS without the key")
	}
}
