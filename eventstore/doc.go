// Package eventstore defines sessiond's append-only event log: the types
// every store shares, the errors they return, and the SHA-256 hash chain
// that makes the log tamper-evident.
//
// Implementations live in subpackages: pgstore for PostgreSQL and
// sqlitestore for the embedded SQLite file. Both share this package's
// planner, group-commit writer, chain walk and notifier. This
// package depends only on the standard library and small encoding
// libraries; it must never import domain, projections or an adapter.
package eventstore
