// Package server is the sessiond program: configuration, the commands
// (serve, migrate, keys, audit, export, import), and the wiring of the
// stores, the read model, the API, the broadcast relay, tokens and the
// embedded NATS server. cmd/sessiond is a thin main around Main; tests
// start the whole server through Main on :0.
//
// It is the wiring, the one package that may import any other: commands
// parse flags, open files and stores, and call the use cases in
// internal/app (the import and export rules among them); it decides
// nothing itself.
package server
