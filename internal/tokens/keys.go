package tokens

import (
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/go-jose/go-jose/v4"
)

// Key is one Ed25519 signing key and its key id (the RFC 7638 thumbprint
// of its public JWK).
type Key struct {
	ID      string
	Private ed25519.PrivateKey
}

// Public returns the key's public half.
func (k Key) Public() ed25519.PublicKey { return k.Private.Public().(ed25519.PublicKey) }

func newKey(priv ed25519.PrivateKey) (Key, error) {
	jwk := jose.JSONWebKey{Key: priv.Public(), Algorithm: string(jose.EdDSA), Use: "sig"}
	tp, err := jwk.Thumbprint(crypto.SHA256)
	if err != nil {
		return Key{}, err
	}
	return Key{ID: base64.RawURLEncoding.EncodeToString(tp), Private: priv}, nil
}

// LoadKeyFile reads an Ed25519 private key from a PKCS#8 PEM file.
func LoadKeyFile(path string) (Key, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return Key{}, err
	}
	block, _ := pem.Decode(raw)
	if block == nil || block.Type != "PRIVATE KEY" {
		return Key{}, fmt.Errorf("%s: want a PEM \"PRIVATE KEY\" (PKCS#8) block", path)
	}
	parsed, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return Key{}, fmt.Errorf("%s: %w", path, err)
	}
	priv, ok := parsed.(ed25519.PrivateKey)
	if !ok {
		return Key{}, fmt.Errorf("%s: want an Ed25519 key, got %T", path, parsed)
	}
	return newKey(priv)
}

// WriteKeyFile generates a new Ed25519 key and writes it to path as PKCS#8
// PEM with mode 0600. It refuses to overwrite an existing file.
func WriteKeyFile(path string) (Key, error) {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return Key{}, err
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return Key{}, err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return Key{}, err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return Key{}, err
	}
	if err := pem.Encode(f, &pem.Block{Type: "PRIVATE KEY", Bytes: der}); err != nil {
		f.Close()
		return Key{}, err
	}
	if err := f.Close(); err != nil {
		return Key{}, err
	}
	return newKey(priv)
}

// EnsureKeyFile loads the key at path, generating it first if there is
// none: the embedded default's key, reused across restarts.
func EnsureKeyFile(path string) (Key, error) {
	k, err := LoadKeyFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		k, err = WriteKeyFile(path)
		if errors.Is(err, fs.ErrExist) { // another process won the race
			return LoadKeyFile(path)
		}
	}
	return k, err
}
