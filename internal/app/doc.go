// Package app is sessiond's application service: it loads an aggregate
// from its stream, asks the domain to decide, and appends the result with
// the expected version, retrying on a concurrent write. The HTTP API and
// the CLI both drive it.
//
// It depends on domain, eventstore and projections; never on api or cmd.
package app
