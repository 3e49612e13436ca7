// Package ssf is sessiond's Shared Signals (OpenID SSF 1.0) transmitter:
// it turns the log's SessionRevoked events into CAEP session-revoked
// Security Event Tokens (RFC 8417) and delivers them to each configured
// stream by push (RFC 8935) or poll (RFC 8936), together with the SSF
// verification and stream-updated events.
//
// Every stream is a checkpointed consumer of the log (the log is the
// outbox), so nothing is lost across restarts, receiver outages or
// failover; one elected instance pushes. The stream registry is folded
// from the ssf-streams log stream.
//
// It depends on domain, eventstore and internal/keyfile only; never on api, broadcast,
// projections or a store. Package ssf/receiver is the receiving side.
package ssf
