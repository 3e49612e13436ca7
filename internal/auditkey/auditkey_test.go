package auditkey_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sessiond/sessiond/internal/auditkey"
)

func TestSignVerify(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.pem")
	s, err := auditkey.EnsureFile(path)
	if err != nil {
		t.Fatal(err)
	}
	again, err := auditkey.LoadFile(path)
	if err != nil || again.KeyID() != s.KeyID() || s.KeyID() != auditkey.Thumbprint(s.Public()) {
		t.Fatalf("reloaded key %v, %v", again, err)
	}
	jws, err := auditkey.SignJWS(context.Background(), s, []byte(`{"position":7}`))
	if err != nil {
		t.Fatal(err)
	}
	keys, err := auditkey.ParseJWKS(auditkey.Keys{s.KeyID(): s.Public()}.JWKS())
	if err != nil {
		t.Fatal(err)
	}
	payload, kid, err := auditkey.Verify(jws, keys)
	if err != nil || kid != s.KeyID() || string(payload) != `{"position":7}` {
		t.Fatalf("Verify = %s, %s, %v", payload, kid, err)
	}
	parts := strings.Split(jws, ".")
	forged := parts[0] + "." + strings.TrimRight(parts[1], "A") + "B." + parts[2]
	if _, _, err := auditkey.Verify(forged, keys); err == nil {
		t.Error("a changed payload verified")
	}
	other, _ := auditkey.EnsureFile(filepath.Join(t.TempDir(), "other.pem"))
	if _, _, err := auditkey.Verify(jws, auditkey.Keys{other.KeyID(): other.Public()}); !errors.Is(err, auditkey.ErrUnknownKey) {
		t.Errorf("unknown key: %v", err)
	}
	if _, err := auditkey.ParseJWK([]byte(strings.Replace(string(auditkey.JWK(s.Public())), s.KeyID(), other.KeyID(), 1))); err == nil {
		t.Error("a JWK whose kid is not its thumbprint was accepted")
	}
}
