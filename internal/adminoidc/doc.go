// Package adminoidc lets people sign in to sessiond's admin API with
// their organization's identity provider: it verifies OIDC access tokens
// (JWTs) against each configured issuer's discovery document and JWKS
// with github.com/coreos/go-oidc, maps their claims to sessiond scopes,
// and turns them into an app.Principal whose actor is the person
// ({kind: "oidc", iss, sub, name, email, amr}).
//
// It is an adapter: it imports domain and internal/app (for Principal and
// the People interface it implements), never another adapter.
package adminoidc
