package auditkey

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/go-jose/go-jose/v4"
)

// ErrUnknownKey is returned by Verify when the JWS names a key that is not
// among the trusted ones.
var ErrUnknownKey = errors.New("signed by a key that is not trusted")

// SignJWS signs payload with s as a compact JWS: header {"alg":"EdDSA",
// "kid"}. Only the signature comes from s.
func SignJWS(ctx context.Context, s Signer, payload []byte) (string, error) {
	header, _ := json.Marshal(map[string]string{"alg": string(jose.EdDSA), "kid": s.KeyID()})
	input := base64.RawURLEncoding.EncodeToString(header) + "." + base64.RawURLEncoding.EncodeToString(payload)
	sig, err := s.Sign(ctx, []byte(input))
	if err != nil {
		return "", fmt.Errorf("audit key %s: %w", s.KeyID(), err)
	}
	return input + "." + base64.RawURLEncoding.EncodeToString(sig), nil
}

// Payload returns a compact JWS's payload without checking its signature.
func Payload(jws string) ([]byte, error) {
	obj, err := jose.ParseSigned(jws, []jose.SignatureAlgorithm{jose.EdDSA})
	if err != nil {
		return nil, errors.New("not an EdDSA JWS")
	}
	return obj.UnsafePayloadWithoutVerification(), nil
}

// Verify checks a compact EdDSA JWS against keys and returns its payload
// and key id. Errors are plain sentences.
func Verify(jws string, keys Keys) ([]byte, string, error) {
	obj, err := jose.ParseSigned(jws, []jose.SignatureAlgorithm{jose.EdDSA})
	if err != nil {
		return nil, "", errors.New("the signature is not a well-formed EdDSA JWS")
	}
	if len(obj.Signatures) != 1 {
		return nil, "", errors.New("the signature must carry exactly one signature")
	}
	kid := obj.Signatures[0].Header.KeyID
	pub, ok := keys[kid]
	if !ok {
		return nil, kid, fmt.Errorf("%w (%s)", ErrUnknownKey, kid)
	}
	payload, err := obj.Verify(pub)
	if err != nil {
		return nil, kid, fmt.Errorf("the signature does not match key %s: the signed content was altered or forged", kid)
	}
	return payload, kid, nil
}
