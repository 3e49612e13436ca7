package ssf_test

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/sessiond/sessiond/ssf"
)

// TestSeal: sealed secrets open with the key that sealed them, also after
// a rotation that keeps it listed; tampering and unknown keys fail.
func TestSeal(t *testing.T) {
	dir := t.TempDir()
	k1, err := ssf.EnsureKeyFile(filepath.Join(dir, "a.pem"))
	if err != nil {
		t.Fatal(err)
	}
	k2, err := ssf.EnsureKeyFile(filepath.Join(dir, "b.pem"))
	if err != nil {
		t.Fatal(err)
	}
	old, _ := ssf.NewKeys(k1)
	sealed, err := old.Seal("Bearer secret")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(sealed, "secret") {
		t.Fatalf("sealed value shows the secret: %s", sealed)
	}
	rotated, _ := ssf.NewKeys(k2, k1)
	if got, err := rotated.Unseal(sealed); err != nil || got != "Bearer secret" {
		t.Fatalf("Unseal after rotation = %q, %v", got, err)
	}
	if _, err := rotated.Unseal(sealed[:len(sealed)-2] + "AA"); err == nil {
		t.Fatal("a tampered value opened")
	}
	only2, _ := ssf.NewKeys(k2)
	if _, err := only2.Unseal(sealed); err == nil {
		t.Fatal("a value sealed by a retired key opened")
	}
}

// TestJTI: stable per event and stream, different across streams.
func TestJTI(t *testing.T) {
	ev := uuid.New()
	if ssf.JTI("a", ev) != ssf.JTI("a", ev) || ssf.JTI("a", ev) == ssf.JTI("b", ev) || ssf.JTI("a", ev) == ssf.JTI("a", uuid.New()) {
		t.Fatal("jti must be a function of (stream, event) alone")
	}
}

// TestKeySize: keys under 2048 bits are refused (CAEP interoperability
// profile).
func TestKeySize(t *testing.T) {
	priv, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKCS8PrivateKey(priv)
	path := filepath.Join(t.TempDir(), "small.pem")
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := ssf.LoadKeyFile(path); err == nil || !strings.Contains(err.Error(), "2048") {
		t.Fatalf("LoadKeyFile(1024-bit) = %v, want an error naming 2048", err)
	}
}
