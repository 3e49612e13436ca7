// Package broadcast relays revocations from the event log to NATS
// JetStream, where edge verifiers follow them.
//
// The log is the outbox: a checkpointed relay (a consumer.Runner) reads
// every SessionRevoked in position order, publishes it to
// sessions.revoked.<sessionId> with Nats-Msg-Id set to the event id, and
// advances its checkpoint only after JetStream's ack. One relay is active
// across all sessiond instances (a PostgreSQL advisory lock); the leader
// also publishes sessions.heartbeat. The revoke request does not wait for
// the relay: it publishes at once through PublishNow and waits a short
// bound for the ack; the relay skips what PublishNow had acknowledged in
// this process and publishes everything else. The relay saves its
// checkpoint at most every CheckpointEvery: replay is idempotent within
// the stream's duplicate window, so the checkpoint need not be a durable
// commit per revocation.
//
// It depends on domain, the log core (eventstore, eventstore/consumer)
// and the edge verifier's wire format (verifier/wire); never on
// projections, internal/app or another adapter.
package broadcast
