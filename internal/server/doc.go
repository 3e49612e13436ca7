// Package server is the sessiond program: configuration, the serve,
// migrate, keys and audit commands, and the wiring of stores, the API and
// (later) the broadcast relay. cmd/sessiond is a thin main around Main;
// tests start the whole server through Main on :0.
package server
