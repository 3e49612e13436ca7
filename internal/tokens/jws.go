package tokens

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/go-jose/go-jose/v4"
)

// SignJWS signs payload with the signing key (EdDSA, header kid): a
// compact JWS anyone holding the JWKS can check.
func (i *Issuer) SignJWS(payload []byte) (string, error) {
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.EdDSA, Key: i.keys[0].Private},
		(&jose.SignerOptions{}).WithHeader(jose.HeaderKey("kid"), i.keys[0].ID))
	if err != nil {
		return "", err
	}
	obj, err := signer.Sign(payload)
	if err != nil {
		return "", err
	}
	return obj.CompactSerialize()
}

// VerifyJWS checks a compact EdDSA JWS against a JWKS document and returns
// its payload and key id.
func VerifyJWS(jws string, jwks []byte) (payload []byte, kid string, err error) {
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(jwks, &set); err != nil {
		return nil, "", fmt.Errorf("jwks: %w", err)
	}
	obj, err := jose.ParseSigned(jws, []jose.SignatureAlgorithm{jose.EdDSA})
	if err != nil {
		return nil, "", fmt.Errorf("signature: %w", err)
	}
	if len(obj.Signatures) != 1 {
		return nil, "", errors.New("signature: want exactly one")
	}
	kid = obj.Signatures[0].Header.KeyID
	keys := set.Key(kid)
	if len(keys) == 0 {
		return nil, kid, fmt.Errorf("signature: key %q is not in the JWKS", kid)
	}
	payload, err = obj.Verify(keys[0].Key)
	if err != nil {
		return nil, kid, fmt.Errorf("signature: %w", err)
	}
	return payload, kid, nil
}
