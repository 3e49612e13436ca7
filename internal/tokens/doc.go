// Package tokens mints sessiond's signed session tokens: EdDSA (Ed25519)
// JWTs naming their session in the sid claim, with keys loaded from PKCS#8
// PEM files and published as a JWKS. It uses go-jose; it writes no crypto
// of its own. It imports nothing of the module
// but internal/keyfile (reading, writing and naming key files).
package tokens
