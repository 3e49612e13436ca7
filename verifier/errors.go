package verifier

import "errors"

// ErrRevoked is returned by Check when the session has been revoked and
// has not yet expired.
var ErrRevoked = errors.New("verifier: session revoked")

// ErrStale is returned by Check when fail-closed is configured and the
// newest heartbeat is older than the staleness bound: the verifier cannot
// vouch that it has seen every revocation.
var ErrStale = errors.New("verifier: revocation feed is stale")

// ErrNoSession is returned by a session-id extractor that finds none.
var ErrNoSession = errors.New("verifier: no session in request")
