package ssf

import (
	"crypto"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/go-jose/go-jose/v4"

	"github.com/sessiond/sessiond/internal/keyfile"
)

// MinRSABits is the smallest signing key accepted: the CAEP
// interoperability profile requires RS256 with keys of at least 2048 bits.
const MinRSABits = 2048

// Key is one RSA signing key and its key id (the RFC 7638 thumbprint of
// its public JWK).
type Key struct {
	ID      string
	Private *rsa.PrivateKey
}

// Keys are the transmitter's signing keys: the first signs, all are
// published at jwks_uri. They also seal stream secrets (authorization
// headers) at rest.
type Keys struct {
	all []Key
}

// NewKeys returns keys; the first signs. It needs at least one.
func NewKeys(keys ...Key) (*Keys, error) {
	if len(keys) == 0 {
		return nil, errors.New("ssf: no signing key")
	}
	return &Keys{all: keys}, nil
}

// SigningKeyID is the kid of the signing key.
func (k *Keys) SigningKeyID() string { return k.all[0].ID }

// JWKS returns the public keys as a JWK Set.
func (k *Keys) JWKS() []byte {
	set := jose.JSONWebKeySet{}
	for _, key := range k.all {
		set.Keys = append(set.Keys, jose.JSONWebKey{Key: &key.Private.PublicKey, KeyID: key.ID, Algorithm: string(jose.RS256), Use: "sig"})
	}
	b, _ := json.Marshal(set)
	return b
}

// Sign signs claims as a SET: RS256, typ secevent+jwt, kid in the header.
func (k *Keys) Sign(claims map[string]any) (string, error) {
	payload, err := json.Marshal(claims)
	if err != nil {
		return "", err
	}
	key := k.all[0]
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: jose.JSONWebKey{Key: key.Private, KeyID: key.ID}},
		(&jose.SignerOptions{}).WithType("secevent+jwt"))
	if err != nil {
		return "", err
	}
	obj, err := signer.Sign(payload)
	if err != nil {
		return "", err
	}
	return obj.CompactSerialize()
}

// sealPrefix starts a sealed value: "sealed:v1:<kid>:<base64url nonce‖ciphertext>".
const sealPrefix = "sealed:v1:"

// Seal encrypts plain with AES-256-GCM under a key derived (HKDF-SHA256)
// from the signing key, so the log holds no receiver credential in clear.
func (k *Keys) Seal(plain string) (string, error) {
	aead, err := sealAEAD(k.all[0])
	if err != nil {
		return "", err
	}
	nonce := make([]byte, aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return "", err
	}
	out := aead.Seal(nonce, nonce, []byte(plain), []byte(k.all[0].ID))
	return sealPrefix + k.all[0].ID + ":" + base64.RawURLEncoding.EncodeToString(out), nil
}

// Unseal decrypts a Seal result with whichever configured key sealed it.
func (k *Keys) Unseal(sealed string) (string, error) {
	rest, ok := strings.CutPrefix(sealed, sealPrefix)
	kid, data, ok2 := strings.Cut(rest, ":")
	if !ok || !ok2 {
		return "", errors.New("ssf: not a sealed value")
	}
	for _, key := range k.all {
		if key.ID != kid {
			continue
		}
		raw, err := base64.RawURLEncoding.DecodeString(data)
		if err != nil {
			return "", err
		}
		aead, err := sealAEAD(key)
		if err != nil {
			return "", err
		}
		if len(raw) < aead.NonceSize() {
			return "", errors.New("ssf: sealed value too short")
		}
		plain, err := aead.Open(nil, raw[:aead.NonceSize()], raw[aead.NonceSize():], []byte(kid))
		return string(plain), err
	}
	return "", fmt.Errorf("ssf: sealed by key %s, which is no longer configured", kid)
}

func sealAEAD(key Key) (cipher.AEAD, error) {
	secret := x509.MarshalPKCS1PrivateKey(key.Private)
	k, err := hkdf.Key(sha256.New, secret, nil, "sessiond ssf seal v1", 32)
	if err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(k)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

func newKey(priv *rsa.PrivateKey) (Key, error) {
	if priv.N.BitLen() < MinRSABits {
		return Key{}, fmt.Errorf("RSA key of %d bits; at least %d are required", priv.N.BitLen(), MinRSABits)
	}
	id, err := keyfile.KeyID(&priv.PublicKey)
	if err != nil {
		return Key{}, err
	}
	return Key{ID: id, Private: priv}, nil
}

// LoadKeyFile reads an RSA private key (PKCS#8 or PKCS#1 PEM).
func LoadKeyFile(path string) (Key, error) {
	parsed, err := keyfile.Read(path, true)
	if err != nil {
		return Key{}, err
	}
	priv, ok := parsed.(*rsa.PrivateKey)
	if !ok {
		return Key{}, fmt.Errorf("%s: want an RSA key (RS256), got %T", path, parsed)
	}
	k, err := newKey(priv)
	if err != nil {
		return Key{}, fmt.Errorf("%s: %w", path, err)
	}
	return k, nil
}

// EnsureKeyFile loads the key at path, first generating a 2048-bit RSA key
// there (PKCS#8 PEM, mode 0600) if there is none.
func EnsureKeyFile(path string) (Key, error) {
	return keyfile.Ensure(path, LoadKeyFile, func() (crypto.PrivateKey, error) {
		return rsa.GenerateKey(rand.Reader, MinRSABits)
	})
}
