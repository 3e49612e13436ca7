package auditkey

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"sort"

	"github.com/go-jose/go-jose/v4"

	"github.com/sessiond/sessiond/internal/keyfile"
	"github.com/sessiond/sessiond/internal/tokens"
)

// Signer holds an Ed25519 audit key. Sign returns the signature of message;
// the private key never needs to leave the signer, so a KMS or HSM can
// implement it.
type Signer interface {
	KeyID() string // the RFC 7638 thumbprint of the public key
	Public() ed25519.PublicKey
	Sign(ctx context.Context, message []byte) ([]byte, error)
}

// FileSigner is a Signer whose key is a PKCS#8 PEM file.
type FileSigner struct{ key tokens.Key }

// LoadFile reads the key at path.
func LoadFile(path string) (*FileSigner, error) {
	k, err := tokens.LoadKeyFile(path)
	if err != nil {
		return nil, err
	}
	return &FileSigner{key: k}, nil
}

// EnsureFile loads the key at path, generating it (mode 0600) if there is
// none.
func EnsureFile(path string) (*FileSigner, error) {
	k, err := tokens.EnsureKeyFile(path)
	if err != nil {
		return nil, err
	}
	return &FileSigner{key: k}, nil
}

// KeyID implements Signer.
func (s *FileSigner) KeyID() string { return s.key.ID }

// Public implements Signer.
func (s *FileSigner) Public() ed25519.PublicKey { return s.key.Public() }

// Sign implements Signer.
func (s *FileSigner) Sign(_ context.Context, message []byte) ([]byte, error) {
	return ed25519.Sign(s.key.Private, message), nil
}

// Thumbprint is the RFC 7638 thumbprint of pub: its key id.
func Thumbprint(pub ed25519.PublicKey) string {
	id, _ := keyfile.KeyID(pub) // an Ed25519 key always has one
	return id
}

// JWK renders pub as a public JWK with its key id.
func JWK(pub ed25519.PublicKey) json.RawMessage {
	b, _ := json.Marshal(jose.JSONWebKey{Key: pub, KeyID: Thumbprint(pub), Algorithm: string(jose.EdDSA), Use: "sig"})
	return b
}

// ParseJWK reads a public Ed25519 JWK and checks that its key id is its
// thumbprint.
func ParseJWK(raw []byte) (ed25519.PublicKey, error) {
	var k jose.JSONWebKey
	if err := json.Unmarshal(raw, &k); err != nil {
		return nil, fmt.Errorf("not a JWK: %w", err)
	}
	pub, ok := k.Key.(ed25519.PublicKey)
	if !ok {
		return nil, errors.New("not an Ed25519 public key")
	}
	if k.KeyID != "" && k.KeyID != Thumbprint(pub) {
		return nil, fmt.Errorf("key id %q is not the key's thumbprint", k.KeyID)
	}
	return pub, nil
}

// Keys are trusted public keys by key id.
type Keys map[string]ed25519.PublicKey

// Add trusts pub.
func (k Keys) Add(pub ed25519.PublicKey) { k[Thumbprint(pub)] = pub }

// JWKS renders the keys as a JSON Web Key Set.
func (k Keys) JWKS() []byte {
	set := jose.JSONWebKeySet{Keys: []jose.JSONWebKey{}}
	kids := make([]string, 0, len(k))
	for kid := range k {
		kids = append(kids, kid)
	}
	sort.Strings(kids)
	for _, kid := range kids {
		set.Keys = append(set.Keys, jose.JSONWebKey{Key: k[kid], KeyID: kid, Algorithm: string(jose.EdDSA), Use: "sig"})
	}
	b, _ := json.Marshal(set)
	return b
}

// ParseJWKS reads the Ed25519 keys of a JSON Web Key Set (others are
// skipped).
func ParseJWKS(raw []byte) (Keys, error) {
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(raw, &set); err != nil {
		return nil, fmt.Errorf("not a JSON Web Key Set: %w", err)
	}
	out := Keys{}
	for _, k := range set.Keys {
		if pub, ok := k.Key.(ed25519.PublicKey); ok {
			out.Add(pub)
		}
	}
	return out, nil
}
