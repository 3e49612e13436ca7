package domain

import "time"

// TypeAuditCheckpoint is the type of AuditCheckpoint events.
const TypeAuditCheckpoint = "AuditCheckpoint"

// CheckpointStream is the stream every AuditCheckpoint is appended to.
const CheckpointStream = "audit-checkpoints"

// AuditCheckpoint records that the authority signed the log's head: the
// hash at Position. Signature is a JWS (EdDSA, the token signing key) over
// the same position and hash, so it can be checked with the JWKS alone.
type AuditCheckpoint struct {
	Position  int64     `json:"position"`
	Hash      string    `json:"hash"` // hex
	SignedAt  time.Time `json:"signedAt"`
	KeyID     string    `json:"keyId"`
	Signature string    `json:"signature"`
}

// EventType implements Event.
func (AuditCheckpoint) EventType() string { return TypeAuditCheckpoint }

// StreamID implements Event.
func (AuditCheckpoint) StreamID() string { return CheckpointStream }

// CheckpointDue decides whether to sign a new checkpoint: when at least
// every events were recorded since the last checkpoint event (at
// lastEventPos, made at lastAt), or when any were and interval has passed.
// head is the log's newest position.
func CheckpointDue(head, lastEventPos int64, lastAt, now time.Time, every int64, interval time.Duration) bool {
	fresh := head - lastEventPos
	if fresh <= 0 {
		return false
	}
	return fresh >= every || (interval > 0 && now.Sub(lastAt) >= interval)
}
