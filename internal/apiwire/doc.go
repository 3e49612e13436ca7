// Package apiwire is what sessiond's two HTTP adapters share: the admin
// API (package api) answers in these shapes, and the web console (package
// console) shows what the API would answer in them. It holds the JSON
// shapes of sessions and revocations, the one table from error code to
// HTTP status, and the parsing of the audit trail's query parameters.
//
// It depends on domain and the application service (internal/app) only;
// api and console import it, never each other.
package apiwire
