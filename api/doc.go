// Package api is sessiond's admin HTTP API on gorilla/mux: the seed
// endpoint DELETE /auth/admin/api/users/{id}/sessions/{sessionId} and its
// siblings, admin-key authentication, error responses from one code→status
// table, request ids, limits, recovery, metrics and the OpenAPI document.
//
// It depends on domain and the application service (internal/app); it
// must never import a store or a database driver.
package api
