// Package verifier is the edge SDK of sessiond: it follows the SESSIONS
// JetStream stream and tells an edge service, in nanoseconds and without
// allocating, whether a session has been revoked.
//
// At start it loads the current revocation set (the last message of every
// subject, through an ordered consumer), then follows new messages; the
// ordered consumer resumes from the last stream sequence after a
// disconnect or a gap. Entries are dropped once their session has expired
// and the token leeway has passed too, so memory is bounded by the
// revocations that still matter. Staleness comes from the relay's
// heartbeat, which says how far the relay has really got (caughtUpAt), not
// only that it is alive: fail-open by default (a metric and a log line), or
// fail-closed with ErrStale. The wire format is package verifier/wire and
// docs/wire.md.
//
// With WithJWKS, Middleware also verifies sessiond's signed session tokens
// (EdDSA JWTs) and checks their sid on every request.
//
// Edge services embed this package, so it imports only the standard
// library, nats.go, prometheus/client_golang, go-jose (the JWT library)
// and verifier/wire (standard library only): nothing of the server.
package verifier
