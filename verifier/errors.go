package verifier

import "errors"

// ErrRevoked is returned by Check when the session has been revoked and
// has not yet expired.
var ErrRevoked = errors.New("verifier: session revoked")

// ErrStale is returned by Check when fail-closed is configured and the
// feed was last known complete longer ago than the staleness bound (no
// heartbeat, or heartbeats saying the relay is behind): the verifier
// cannot vouch that it has seen every revocation.
var ErrStale = errors.New("verifier: revocation feed is stale")

// ErrNoSession is returned by a session-id extractor that finds none.
var ErrNoSession = errors.New("verifier: no session in request")
