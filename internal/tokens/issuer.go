package tokens

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/google/uuid"
)

// Issuer mints tokens with the first of its keys and publishes all of them.
type Issuer struct {
	issuer   string
	audience string
	keys     []Key
	signer   jose.Signer
	jwks     []byte
}

// NewIssuer returns an issuer. keys[0] signs; every key is published in
// the JWKS, so tokens signed by a previous key keep verifying while it is
// listed.
func NewIssuer(issuer, audience string, keys []Key) (*Issuer, error) {
	if len(keys) == 0 {
		return nil, errors.New("tokens: no signing key")
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.EdDSA, Key: keys[0].Private},
		(&jose.SignerOptions{}).WithType("JWT").WithHeader(jose.HeaderKey("kid"), keys[0].ID))
	if err != nil {
		return nil, err
	}
	set := jose.JSONWebKeySet{}
	for _, k := range keys {
		set.Keys = append(set.Keys, jose.JSONWebKey{Key: k.Public(), KeyID: k.ID, Algorithm: string(jose.EdDSA), Use: "sig"})
	}
	jwks, err := json.Marshal(set)
	if err != nil {
		return nil, err
	}
	return &Issuer{issuer: issuer, audience: audience, keys: keys, signer: signer, jwks: jwks}, nil
}

// claims are the token's custom claims.
type claims struct {
	SessionID string `json:"sid"`
}

// Mint returns a signed token for a session: iss, sub (the user), sid,
// aud, iat, exp (the session's expiry), jti; header kid.
func (i *Issuer) Mint(userID, sessionID string, expires, now time.Time) (string, error) {
	std := jwt.Claims{
		Issuer:   i.issuer,
		Subject:  userID,
		Audience: jwt.Audience{i.audience},
		IssuedAt: jwt.NewNumericDate(now),
		Expiry:   jwt.NewNumericDate(expires),
		ID:       uuid.NewString(),
	}
	tok, err := jwt.Signed(i.signer).Claims(std).Claims(claims{SessionID: sessionID}).Serialize()
	if err != nil {
		return "", fmt.Errorf("mint: %w", err)
	}
	return tok, nil
}

// JWKS returns the JSON Web Key Set of every published key.
func (i *Issuer) JWKS() []byte { return i.jwks }

// Discovery returns a minimal OpenID discovery document.
func (i *Issuer) Discovery() []byte {
	doc, _ := json.Marshal(map[string]any{
		"issuer":                                i.issuer,
		"jwks_uri":                              strings.TrimSuffix(i.issuer, "/") + "/.well-known/jwks.json",
		"id_token_signing_alg_values_supported": []string{string(jose.EdDSA)},
	})
	return doc
}

// SigningKeyID returns the id of the key that signs.
func (i *Issuer) SigningKeyID() string { return i.keys[0].ID }
