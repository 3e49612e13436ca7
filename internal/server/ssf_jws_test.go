package server_test

import (
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/big"
	"net/http"
	"strings"
)

// verifyRS256 checks a compact JWS against a JWKS fetched from jwksURI
// with the standard library alone — independent of go-jose, which both
// the transmitter and package receiver use. It returns the JOSE header.
func verifyRS256(jwksURI, token string) (map[string]any, error) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return nil, fmt.Errorf("%d JWS parts", len(parts))
	}
	rawHeader, err := base64.RawURLEncoding.DecodeString(parts[0])
	if err != nil {
		return nil, err
	}
	var header map[string]any
	if err := json.Unmarshal(rawHeader, &header); err != nil {
		return nil, err
	}
	if header["alg"] != "RS256" || header["typ"] != "secevent+jwt" {
		return nil, fmt.Errorf("header %v, want alg RS256 and typ secevent+jwt", header)
	}
	resp, err := http.Get(jwksURI)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var set struct {
		Keys []struct{ Kid, Kty, N, E string }
	}
	if err := json.NewDecoder(resp.Body).Decode(&set); err != nil {
		return nil, err
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil {
		return nil, err
	}
	digest := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	for _, k := range set.Keys {
		if k.Kid != header["kid"] || k.Kty != "RSA" {
			continue
		}
		n, _ := base64.RawURLEncoding.DecodeString(k.N)
		e, _ := base64.RawURLEncoding.DecodeString(k.E)
		pub := &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(new(big.Int).SetBytes(e).Int64())}
		if pub.N.BitLen() < 2048 {
			return nil, fmt.Errorf("key of %d bits", pub.N.BitLen())
		}
		return header, rsa.VerifyPKCS1v15(pub, crypto.SHA256, digest[:], sig)
	}
	return nil, fmt.Errorf("no RSA key %v at %s", header["kid"], jwksURI)
}
