package adminoidc

import "github.com/go-jose/go-jose/v4"

// signingAlgs are the only algorithms an access token may be signed with:
// asymmetric ones. "none" and the HMAC family (HS256 with a public key as
// the secret is the classic confusion attack) are refused before any key
// is looked at.
var signingAlgs = []jose.SignatureAlgorithm{
	jose.RS256, jose.RS384, jose.RS512,
	jose.PS256, jose.PS384, jose.PS512,
	jose.ES256, jose.ES384, jose.ES512,
	jose.EdDSA,
}

// signingAlgNames are signingAlgs as strings, for go-oidc's Config.
func signingAlgNames() []string {
	out := make([]string, len(signingAlgs))
	for i, a := range signingAlgs {
		out[i] = string(a)
	}
	return out
}
