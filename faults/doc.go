// Package faults is sessiond's fault suite, in the style of Jepsen and
// etcd's robustness tests: real sessiond processes on one PostgreSQL, a real
// nats-server with JetStream and edge verifiers run a concurrent workload
// while faults drawn from a seed are injected; the recorded history is then
// checked against sessiond's four promises.
//
//   - Durable: a 200 means the event is in the log (and the chain verifies).
//   - Delivered: a verifier that claims to be fresh as of a moment rejects
//     every session whose revocation was acknowledged before it.
//   - Honest staleness: a verifier that cannot know says it is stale, so no
//     verifier claiming freshness accepts a session revoked longer ago than
//     its staleness bound.
//   - Never resurrected: once revoked, a session never reads active again,
//     through the API, the read model, a verifier or a token check, across
//     crashes, failovers, rebuilds and export/import.
//
// The package holds the history, the session-registry model checked with
// porcupine, and the online checkers; the harness that runs processes and
// injects faults is in its tests (TestFaults). It is for tests only and
// imports nothing of the server.
package faults
