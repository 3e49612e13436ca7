// Package server is the sessiond program: configuration, the commands
// (serve, migrate, keys, audit, export, import), and the wiring of the
// stores, the read model, the API, the broadcast relay, tokens and the
// embedded NATS server. cmd/sessiond is a thin main around Main; tests
// start the whole server through Main on :0.
package server
