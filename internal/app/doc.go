// Package app is sessiond's application service: it loads an aggregate
// from its stream, asks the domain to decide, and appends the result with
// the expected version, retrying on a concurrent write. The HTTP API, the
// console and the CLI all drive it; the audit export (CSV, NDJSON) and the
// verbatim export and import of the log are its use cases too.
//
// It depends on domain, the log core (eventstore), the read model's types
// (projections) and internal/auditkey; never on an adapter (api, console,
// broadcast, a store) or the server. The adapters that drive it name only
// its types (Event, AuditFilter, ListFilter, ...), never the log's or the
// read model's.
package app
