// Package bench is the load generator behind `sessiond bench`: it starts
// sessions, revokes them at full speed or at a fixed rate, follows the
// NATS feed with verifiers to time propagation, runs a pgbench-equivalent
// INSERT yardstick against the same PostgreSQL, and prints the figures as a
// table and, optionally, a self-contained HTML report.
//
// It talks to sessiond only as a client does (HTTP, NATS, the verifier
// SDK); it never imports the server, a store or an adapter.
package bench
