package faults

import (
	"fmt"
	"sync"
	"time"
)

// Knowledge is what the run has learned about revocations as it goes:
// for each session, the earliest moment (history time) by which its
// revocation was certainly committed, and why the suite knows. The
// delivery and resurrection checks compare every verifier answer against
// it.
type Knowledge struct {
	mu      sync.RWMutex
	revoked map[string]Known
	expires map[string]time.Time
}

// Known is one revocation the run knows was committed by At.
type Known struct {
	Session string
	At      int64  // history time
	Why     string // e.g. "revoke op 12 answered 200 (published)"
	Expires time.Time
}

// NewKnowledge returns empty knowledge.
func NewKnowledge() *Knowledge {
	return &Knowledge{revoked: map[string]Known{}, expires: map[string]time.Time{}}
}

// Started records a session's expiry, from any answer that shows it.
func (k *Knowledge) Started(session string, expires time.Time) {
	if expires.IsZero() {
		return
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if _, ok := k.expires[session]; !ok {
		k.expires[session] = expires
	}
	if r, ok := k.revoked[session]; ok && r.Expires.IsZero() {
		r.Expires = expires
		k.revoked[session] = r
	}
}

// Revoked records that session's revocation was committed by at; the
// earliest such moment is kept.
func (k *Knowledge) Revoked(session string, at int64, why string) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if r, ok := k.revoked[session]; ok && r.At <= at {
		return
	}
	k.revoked[session] = Known{Session: session, At: at, Why: why, Expires: k.expires[session]}
}

// RevokedAt returns what is known of session's revocation.
func (k *Knowledge) RevokedAt(session string) (Known, bool) {
	k.mu.RLock()
	defer k.mu.RUnlock()
	r, ok := k.revoked[session]
	return r, ok
}

// All returns every known revocation.
func (k *Knowledge) All() []Known {
	k.mu.RLock()
	defer k.mu.RUnlock()
	out := make([]Known, 0, len(k.revoked))
	for _, r := range k.revoked {
		out = append(out, r)
	}
	return out
}

// Answer is one verifier answer about one session.
type Answer int

// Answers of a verifier (Check) or of its middleware (token check).
const (
	Accepted Answer = iota // nil / 200: the session may proceed
	Rejected               // ErrRevoked / 401 SESSION_REVOKED
	Stale                  // ErrStale / 503 REVOCATIONS_STALE
	Other                  // a token refused for another reason (expired, invalid)
)

// Sample is one verifier answer with the verifier's own claim of
// freshness at the time.
type Sample struct {
	Verifier  string
	At        int64         // history time the staleness was read (before the answer)
	Staleness time.Duration // the verifier's Staleness()
	Bound     time.Duration // its staleness bound
	Token     bool          // a token check through the middleware, not Check
	Session   string
	Answer    Answer
	// Offset is how far the verifier's clock was from the real time (a
	// clock jump); when it moved during the answer, the earliest reading.
	Offset time.Duration
}

// Violation is a broken promise, in words.
type Violation struct {
	Promise string `json:"promise"` // Durable, Delivered, Honest staleness, Never resurrected, Linearizable, Recovers
	Checker string `json:"checker"` // which check saw it: verifier Check, token check, blind verifier, API read, …
	Detail  string `json:"detail"`
}

func (v Violation) String() string { return v.Promise + " [" + v.Checker + "]: " + v.Detail }

// Slack covers the verifier's coarse clock (Staleness is measured
// against a clock advanced every 100 ms) and scheduling noise when the
// suite reads it: a verifier's freshness point is taken Slack earlier
// than it claims.
const Slack = 250 * time.Millisecond

// CheckSample judges one answer. A verifier claims freshness when its
// staleness is within its bound; it then claims to hold every revocation
// committed before its freshness point, At − Staleness. An answer that
// accepts such a session breaks Delivered (or Honest staleness, when the
// revocation is older than the bound: the verifier should have known it
// was behind). An answer for a session past its expiry is not judged by
// Check (expired sessions are refused by the token's exp), but token
// checks are judged until expiry plus the token leeway.
//
// Expiry is judged on the verifier's own clock (wall plus s.Offset), the
// clock its exp check and its retention use: a verifier whose clock was
// set back accepts tokens longer, and must keep their revocations as long.
// A token of a revoked session is therefore never accepted by a verifier
// claiming freshness past the revocation, whatever its clock says: its exp
// check refuses the token before its revocation may be dropped. The
// freshness claim is a duration (Staleness), so it is judged on the real
// clock: a jumped clock does not excuse claiming more than the verifier
// had.
func CheckSample(s Sample, k Known, wall time.Time, leeway time.Duration) *Violation {
	if s.Answer != Accepted || s.Staleness > s.Bound {
		return nil
	}
	fresh := s.At - int64(s.Staleness) - int64(Slack)
	if k.At >= fresh {
		return nil
	}
	if !k.Expires.IsZero() {
		end := k.Expires
		if s.Token {
			end = end.Add(leeway)
		}
		if !wall.Add(s.Offset + Slack).Before(end) {
			return nil
		}
	}
	promise := "Delivered"
	if time.Duration(s.At-k.At) > s.Bound+Slack {
		promise = "Honest staleness"
	}
	what := "verifier Check"
	if s.Token {
		what = "token check"
	}
	return &Violation{Promise: promise, Checker: what, Detail: fmt.Sprintf(
		"verifier %s accepted session %s (%s) at t=%s claiming freshness (staleness %s ≤ bound %s, clock offset %v); revocation known since t=%s: %s; expires %s",
		s.Verifier, s.Session, what, dur(s.At), s.Staleness.Round(time.Millisecond), s.Bound, s.Offset, dur(k.At), k.Why,
		k.Expires.Format(time.RFC3339Nano))}
}

func dur(t int64) string { return time.Duration(t).Round(time.Millisecond).String() }

// CheckBlind judges a verifier whose feed the nemesis has cut since the
// history time since (its own NATS blackholed, NATS stopped, or no
// sessiond able to reach NATS). Nothing sent after since can reach it, so
// it cannot honestly claim to be fresh as of any later moment: claiming
// freshness past since (plus Slack) breaks Honest staleness.
func CheckBlind(verifier string, at int64, staleness, bound time.Duration, since int64) *Violation {
	if since == 0 || staleness > bound {
		return nil
	}
	fresh := at - int64(staleness)
	if fresh <= since+int64(Slack) {
		return nil
	}
	return &Violation{Promise: "Honest staleness", Checker: "blind verifier", Detail: fmt.Sprintf(
		"verifier %s claimed at t=%s to be fresh as of t=%s (staleness %s ≤ bound %s), but its feed was cut at t=%s",
		verifier, dur(at), dur(fresh), staleness.Round(time.Millisecond), bound, dur(since))}
}
