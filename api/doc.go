// Package api is sessiond's admin HTTP API on gorilla/mux: the seed
// endpoint DELETE /auth/admin/api/users/{id}/sessions/{sessionId} and its
// siblings, admin-key authentication, error responses from one code→status
// table, request ids, limits, recovery, metrics and the OpenAPI document.
//
// It depends on domain, the application service (internal/app), the
// shapes and status table it shares with the console (internal/apiwire),
// gorilla/mux, client_golang, uuid and x/time/rate; it must never import
// the eventstore, projections, another adapter, a store, a database driver
// or NATS.
package api
