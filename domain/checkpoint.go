package domain

import (
	"encoding/json"
	"time"
)

// TypeAuditCheckpoint is the type of AuditCheckpoint events.
const TypeAuditCheckpoint = "AuditCheckpoint"

// CheckpointStream is the stream every AuditCheckpoint is appended to.
const CheckpointStream = "audit-checkpoints"

// AuditCheckpoint records that the authority signed the log's head: the
// hash at Position. Signature is a JWS (EdDSA, the audit key) over the
// same position and hash and the link to the previous checkpoint, so it
// can be checked with the audit keys alone.
type AuditCheckpoint struct {
	Position  int64     `json:"position"`
	Hash      string    `json:"hash"` // hex
	SignedAt  time.Time `json:"signedAt"`
	KeyID     string    `json:"keyId"`
	Signature string    `json:"signature"`
	// Previous names the checkpoint before this one; its EventPosition is
	// 0 for the first. Nil only in checkpoints made before checkpoints
	// were chained.
	Previous *CheckpointLink `json:"previous,omitempty"`
}

// CheckpointLink names a checkpoint event: where it is in the log, its
// hash there, and the key that signed it. Deleting a checkpoint leaves
// the next one naming an event that is no longer there.
type CheckpointLink struct {
	EventPosition int64  `json:"eventPosition"`
	EventHash     string `json:"eventHash,omitempty"` // hex
	KeyID         string `json:"keyId,omitempty"`
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

// TypeAuditKeyIntroduced is the type of AuditKeyIntroduced events.
const TypeAuditKeyIntroduced = "AuditKeyIntroduced"

// AuditKeyStream is the stream every AuditKeyIntroduced is appended to.
const AuditKeyStream = "audit-keys"

// AuditKeyIntroduced records a new audit signing key. Its key id is the
// RFC 7638 thumbprint of PublicKey, so naming a key id names the key.
// Possession is a JWS by the new key over the introduction; Endorsement
// is one by the previous key (empty for the first key, which auditors
// trust on first use and pin). A key trusted by an auditor thus vouches
// for the keys before and after it, and rotation never strands a
// checkpoint.
type AuditKeyIntroduced struct {
	KeyID         string          `json:"keyId"`
	PublicKey     json.RawMessage `json:"publicKey"` // a JWK
	PreviousKeyID string          `json:"previousKeyId,omitempty"`
	IntroducedAt  time.Time       `json:"introducedAt"`
	Possession    string          `json:"possession"`
	Endorsement   string          `json:"endorsement,omitempty"`
}

// EventType implements Event.
func (AuditKeyIntroduced) EventType() string { return TypeAuditKeyIntroduced }

// StreamID implements Event.
func (AuditKeyIntroduced) StreamID() string { return AuditKeyStream }
