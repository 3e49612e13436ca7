// Package console is sessiond's web console: server-rendered pages
// (html/template, embedded with the static files) for operators and
// compliance reviewers, mounted at /console/.
//
// It is an HTTP adapter like api: it depends on domain, the application
// service (internal/app), whose audit export it streams, and the
// response shapes and status table it shares with the API
// (internal/apiwire), so that what it shows and streams is what the API
// answers. It never imports api, the eventstore or projections, never
// calls the HTTP API, and nothing but the server wiring imports it.
//
// Sign-in exchanges an admin key, or a person's sign-in at the
// organization's identity provider (Options.IdP: the authorization code
// flow with PKCE, state and nonce; idp.go), for a server-side console
// session; the browser only holds a random session cookie (HttpOnly,
// SameSite=Strict, Secure over TLS). A console session carries a
// principal and the method that proved it (domain.ConsoleMethodAdminKey,
// domain.ConsoleMethodOIDC); every method ends in Console.startSession,
// and every page, scope check and record works the same for both.
package console
