// Package projections keeps sessiond's read model (users, sessions, admin
// keys) and runs asynchronous, checkpointed consumers of the event log.
//
// The read model is updated by reducers, a table of {event type →
// statements}, that run inside the append transaction (see Project), so it
// is consistent the moment an append returns. Every read-model table can be
// rebuilt from the log. This package depends on domain and eventstore; it
// must never import api, broadcast or cmd.
package projections
