package api

import (
	"context"
	"net/http"
	"time"

	"github.com/sessiond/sessiond/domain"
	"github.com/sessiond/sessiond/internal/app"
)

// Denials counts refused admin requests (app.DenialLog).
type Denials interface {
	Add(app.Denial)
}

// readRecorder records audit reads (app.Service).
type readRecorder interface {
	RecordRead(ctx context.Context, meta app.Meta, read domain.AuditRead) error
}

// identifier names the holder of a presented key, revoked or not
// (app.Service).
type identifier interface {
	Identify(presented string) *app.Principal
}

// accessInfo travels in a request's context so that the layers that
// refuse a request can say why, and accountable can record it.
type accessInfo struct {
	scope domain.Scope
	code  domain.Code
	key   *app.Principal // the presented key, when it could be identified
}

const keyAccess ctxKey = 100

func access(r *http.Request) *accessInfo {
	a, _ := r.Context().Value(keyAccess).(*accessInfo)
	return a
}

// refused notes why the request is refused (no-op outside accountable).
func refused(r *http.Request, code domain.Code, key *app.Principal) {
	if a := access(r); a != nil {
		a.code = code
		if key != nil {
			a.key = key
		}
	}
}

// accountable wraps an admin route that needs scope: every 401, 403 and
// 429 it answers is counted in the denial log with the key (when it could
// be identified), the route, the scope, the request id and the client
// address.
func (s *Server) accountable(scope domain.Scope, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a := &accessInfo{scope: scope}
		r = r.WithContext(context.WithValue(r.Context(), keyAccess, a))
		r = s.withClientIP(r)
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(rec, r)
		if s.opts.Denials == nil {
			return
		}
		switch rec.status {
		case http.StatusUnauthorized, http.StatusForbidden, http.StatusTooManyRequests:
		default:
			return
		}
		d := app.Denial{At: time.Now(), Status: rec.status, Code: a.code, Scope: string(scope),
			RequestID: requestID(r.Context()), Address: sourceIP(r), UserAgent: truncate(r.UserAgent(), 512)}
		if d.Code == "" {
			d.Code = domain.Code(http.StatusText(rec.status))
		}
		if h, ok := r.Context().Value(keyRoute).(*routeHolder); ok {
			d.Route = r.Method + " " + h.template
		}
		if p := a.key; p != nil {
			d.KeyID, d.KeyName, d.Owner = p.KeyID, p.Name, p.Owner
		}
		s.opts.Denials.Add(d)
	})
}

// identify names the holder of a refused key, if the service can.
func (s *Server) identify(presented string) *app.Principal {
	if id, ok := s.svc.(identifier); ok {
		return id.Identify(presented)
	}
	return nil
}

// recordRead appends an AuditRead for the request's key, when the service
// records reads.
func (s *Server) recordRead(r *http.Request, read domain.AuditRead) error {
	rr, ok := s.svc.(readRecorder)
	if !ok {
		return nil
	}
	read.Via = "api"
	return rr.RecordRead(r.Context(), meta(r), read)
}

// canSeePersonal reports whether the request's key may see raw IPs and
// user agents.
func canSeePersonal(r *http.Request) bool {
	p := principal(r)
	return p != nil && p.Can(domain.ScopePersonalRead)
}

// reveal resolves the personal data of recs for the request's key: the
// values with personal:read, otherwise Redacted in place of every value
// still held (erased ones stay null either way).
func (s *Server) reveal(r *http.Request, recs []app.Event) ([]app.Personal, error) {
	if s.audit == nil {
		return nil, nil
	}
	return app.Redacting(s.audit, canSeePersonal(r)).Reveal(r.Context(), recs)
}
