// Package pgstore is the PostgreSQL event store on pgx v5.
//
// All appends of a process go through one writer goroutine that batches
// whatever arrived while the previous commit was in flight into the next
// transaction (group commit, with no timer). Every transaction takes a
// transaction-level advisory lock first, so writers in all processes are
// serialized: positions are gapless, they increase in commit order, and the
// hash chain can be extended without races.
//
// It depends on eventstore and pgx only; never on domain or projections.
package pgstore
