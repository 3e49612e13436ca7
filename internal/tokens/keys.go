package tokens

import (
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"fmt"

	"github.com/sessiond/sessiond/internal/keyfile"
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
	id, err := keyfile.KeyID(priv.Public())
	if err != nil {
		return Key{}, err
	}
	return Key{ID: id, Private: priv}, nil
}

// LoadKeyFile reads an Ed25519 private key from a PKCS#8 PEM file.
func LoadKeyFile(path string) (Key, error) {
	parsed, err := keyfile.Read(path, false)
	if err != nil {
		return Key{}, err
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
	priv, err := generate()
	if err != nil {
		return Key{}, err
	}
	if err := keyfile.Write(path, priv); err != nil {
		return Key{}, err
	}
	return newKey(priv.(ed25519.PrivateKey))
}

// EnsureKeyFile loads the key at path, generating it first if there is
// none: the embedded default's key, reused across restarts.
func EnsureKeyFile(path string) (Key, error) {
	return keyfile.Ensure(path, LoadKeyFile, generate)
}

func generate() (crypto.PrivateKey, error) {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	return priv, err
}
