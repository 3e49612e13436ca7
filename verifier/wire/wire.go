// Package wire defines sessiond's NATS feed: the subjects, the revocation
// and heartbeat payloads, and the rules a verifier applies to them
// (staleness from a heartbeat, how long to keep a revocation). The relay
// (package broadcast) publishes these types and the verifier SDK reads
// them, so there is one definition. docs/wire.md describes the same feed
// for verifiers written in other languages.
//
// It imports only the standard library: edge services embed it through the
// verifier SDK.
package wire

import (
	"encoding/json"
	"time"
)

// The JetStream names of the feed.
const (
	StreamName         = "SESSIONS"           // the stream
	SubjectAll         = "sessions.>"         // every subject of the stream
	SubjectRevoked     = "sessions.revoked."  // + sessionId: one message per revoked session
	SubjectHeartbeat   = "sessions.heartbeat" // the relay's heartbeat
	TypeSessionRevoked = "SessionRevoked"     // Revocation.Type
)

// Revocation is the payload of sessions.revoked.<sessionId>, published
// with the header Nats-Msg-Id set to EventID.
type Revocation struct {
	Type      string    `json:"type"` // always "SessionRevoked"
	EventID   string    `json:"eventId"`
	Position  int64     `json:"position"` // the event's log position
	SessionID string    `json:"sessionId"`
	UserID    string    `json:"userId"`
	RevokedAt time.Time `json:"revokedAt"`
	ExpiresAt time.Time `json:"expiresAt"` // the session's expiry: tokens carry it as exp
	RevokedBy string    `json:"revokedBy"` // the admin key's name, or a person's email, name or sub
	Reason    string    `json:"reason"`
}

// KeepUntil is the last instant a verifier must still reject the session:
// its expiry plus the leeway the verifier allows token expiry checks. A
// token is accepted until exp + leeway, so its revocation must be kept
// that long too; drop it only when now > KeepUntil.
func (r Revocation) KeepUntil(leeway time.Duration) time.Time {
	return r.ExpiresAt.Add(max(leeway, 0))
}

// Heartbeat is the payload of sessions.heartbeat. The relay leader sends
// it every interval (1 s by default), from the first moment in its
// leadership term that it has loaded its checkpoint and caught up with the
// log, including while it is stuck behind (CaughtUpAt then stays put).
// Position and At keep their original meaning; Head and CaughtUpAt were
// added, and a payload without them is read as Head = Position and
// CaughtUpAt = At.
type Heartbeat struct {
	// Position is the last log position broadcast: every revocation at or
	// below it has been published and acknowledged by JetStream.
	Position int64 `json:"position"`
	// Head is the log head the relay last read.
	Head int64 `json:"head"`
	// CaughtUpAt is the last instant (relay clock) at which the relay had
	// broadcast everything recorded up to then.
	CaughtUpAt time.Time `json:"caughtUpAt"`
	// At is when the heartbeat was sent (relay clock).
	At time.Time `json:"at"`
}

// ParseHeartbeat decodes a heartbeat, reading a payload from an older
// relay (no head, no caughtUpAt) as caught up when sent.
func ParseHeartbeat(data []byte) (Heartbeat, error) {
	var h Heartbeat
	if err := json.Unmarshal(data, &h); err != nil {
		return Heartbeat{}, err
	}
	if h.CaughtUpAt.IsZero() {
		h.CaughtUpAt = h.At
	}
	h.Head = max(h.Head, h.Position)
	return h, nil
}

// FreshAsOf returns the instant, on the receiver's clock, as of which the
// feed is known complete: the receive time minus how far the relay was
// behind when it sent the heartbeat (At − CaughtUpAt, both on the relay's
// clock, so no clock skew enters). A heartbeat is trusted as recent only
// as far as its own At: a replayed one (a verifier loading the stream
// long after the relay stopped) or one from a relay whose clock is behind
// counts as no fresher than At − (At − CaughtUpAt) = CaughtUpAt.
//
// A verifier is stale when now − FreshAsOf > its bound.
func (h Heartbeat) FreshAsOf(received time.Time) time.Time {
	behind := max(h.At.Sub(h.CaughtUpAt), 0)
	base := received
	if h.At.Before(base) {
		base = h.At
	}
	return base.Add(-behind)
}
