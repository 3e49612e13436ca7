// Package keyfile reads and writes the private signing keys sessiond keeps
// in PEM files (the token key, the audit key, the SSF key), and names a
// public key by its RFC 7638 thumbprint. It imports nothing of the module.
package keyfile

import (
	"crypto"
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

// KeyID is the RFC 7638 thumbprint (SHA-256, base64url) of a public key's
// JWK: the key id tokens, checkpoints and SETs carry.
func KeyID(pub crypto.PublicKey) (string, error) {
	tp, err := (&jose.JSONWebKey{Key: pub}).Thumbprint(crypto.SHA256)
	if err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(tp), nil
}

// Read parses the private key in the PEM file at path: a PKCS#8 "PRIVATE
// KEY" block, or a PKCS#1 "RSA PRIVATE KEY" block when pkcs1 is set.
// A missing file is an error wrapping fs.ErrNotExist.
func Read(path string, pkcs1 bool) (any, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	block, _ := pem.Decode(raw)
	var parsed any
	switch {
	case block != nil && block.Type == "PRIVATE KEY":
		parsed, err = x509.ParsePKCS8PrivateKey(block.Bytes)
	case block != nil && block.Type == "RSA PRIVATE KEY" && pkcs1:
		parsed, err = x509.ParsePKCS1PrivateKey(block.Bytes)
	case pkcs1:
		return nil, fmt.Errorf("%s: want a PEM \"PRIVATE KEY\" or \"RSA PRIVATE KEY\" block", path)
	default:
		return nil, fmt.Errorf("%s: want a PEM \"PRIVATE KEY\" (PKCS#8) block", path)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return parsed, nil
}

// Write stores priv at path as PKCS#8 PEM, mode 0600, creating the
// directory (0700). It refuses to overwrite: an existing file is an error
// wrapping fs.ErrExist. The key is written to a temporary file first and
// linked into place, so a process reading path never sees half a key.
func Write(path string, priv crypto.PrivateKey) error {
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return err
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, ".key-*") // mode 0600
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if err := pem.Encode(f, &pem.Block{Type: "PRIVATE KEY", Bytes: der}); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Link(f.Name(), path) // fails with fs.ErrExist if path exists
}

// Ensure loads the key at path with load, first generating one and writing
// it there when there is none. When another process writes it first, its
// key is the one loaded.
func Ensure[K any](path string, load func(string) (K, error), generate func() (crypto.PrivateKey, error)) (K, error) {
	k, err := load(path)
	if !errors.Is(err, fs.ErrNotExist) {
		return k, err
	}
	priv, err := generate()
	if err != nil {
		return k, err
	}
	if err := Write(path, priv); err != nil && !errors.Is(err, fs.ErrExist) {
		return k, err
	}
	return load(path)
}
