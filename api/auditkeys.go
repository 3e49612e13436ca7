package api

import (
	"net/http"

	"github.com/sessiond/sessiond/domain"
)

// auditKeys serves the public keys of the audit key history (JWKS), apart
// from the token keys: what auditors pin to check checkpoint signatures.
func (s *Server) auditKeys(w http.ResponseWriter, r *http.Request) {
	if s.opts.AuditKeys == nil {
		s.writeError(w, r, domain.Errorf(domain.CodeRouteNotFound, "this server signs no audit checkpoints"))
		return
	}
	doc, err := s.opts.AuditKeys(r.Context())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/jwk-set+json")
	w.Header().Set("Cache-Control", "public, max-age=300")
	_, _ = w.Write(doc)
}
