package api

import (
	_ "embed"
	"net/http"

	"github.com/sessiond/sessiond/domain"
)

// OpenAPI is the OpenAPI 3.1 document of this API, served at
// GET /openapi.json.
//
//go:embed openapi.json
var OpenAPI []byte

func serveOpenAPI(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "public, max-age=300")
	_, _ = w.Write(OpenAPI)
}

// jwks serves the public signing keys. Verifiers cache them for five
// minutes and refetch early when they meet an unknown kid.
func (s *Server) jwks(w http.ResponseWriter, r *http.Request) {
	s.serveTokenDoc(w, r, func(t Tokens) []byte { return t.JWKS() }, "application/jwk-set+json")
}

// discovery serves the minimal OpenID configuration (issuer, jwks_uri).
func (s *Server) discovery(w http.ResponseWriter, r *http.Request) {
	s.serveTokenDoc(w, r, func(t Tokens) []byte { return t.Discovery() }, "application/json")
}

func (s *Server) serveTokenDoc(w http.ResponseWriter, r *http.Request, doc func(Tokens) []byte, contentType string) {
	if s.opts.Tokens == nil {
		s.writeError(w, r, domain.Errorf(domain.CodeRouteNotFound, "this server mints no tokens"))
		return
	}
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("Cache-Control", "public, max-age=300")
	_, _ = w.Write(doc(s.opts.Tokens))
}
