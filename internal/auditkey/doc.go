// Package auditkey is the audit signing key: the Signer interface that a
// KMS or HSM can implement, the file implementation, and the compact JWS
// (EdDSA) that checkpoints and key introductions are signed with. It is
// separate from the session-token keys (internal/tokens), so rotating
// those never touches the audit trail. It imports nothing of the program
// but internal/tokens' key-file format and internal/keyfile.
package auditkey
