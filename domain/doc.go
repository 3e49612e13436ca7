// Package domain is the pure core of sessiond: sessions, admin keys, their
// events and the decisions that produce those events.
//
// It performs no I/O and never reads a clock: every decision takes the
// current time as a parameter. It must never import a database driver, a
// network client or any other package of this module; the use cases
// (internal/app) and the adapters (projections, broadcast, ssf, api,
// console) depend on it, never the reverse. The log core (eventstore)
// does not know it.
package domain
