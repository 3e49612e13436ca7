package api

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/sessiond/sessiond/domain"
	"github.com/sessiond/sessiond/internal/app"
)

// authenticate requires "Authorization: Bearer <admin key or OIDC access
// token>" and puts the principal in the request context. A client address that keeps
// presenting bad keys, and a key that exceeds its request rate, get 429
// RATE_LIMITED.
func (s *Server) authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ip := sourceIP(r)
		if out, wait := s.authFailures.exhausted(ip, time.Now()); out {
			refused(r, domain.CodeRateLimited, s.identify(bearer(r)))
			s.tooMany(w, r, wait, "failed authentications from this address")
			return
		}
		h := r.Header.Get("Authorization")
		scheme, key, ok := strings.Cut(h, " ")
		if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(key) == "" {
			refused(r, domain.CodeAdminSessionMissing, nil)
			s.writeError(w, r, domain.Errorf(domain.CodeAdminSessionMissing, "an admin key or access token is required: Authorization: Bearer <credential>"))
			return
		}
		p, err := s.svc.Authenticate(r.Context(), strings.TrimSpace(key))
		countAuthentication(strings.TrimSpace(key), err)
		if err != nil {
			if domain.ErrorCode(err) == domain.CodeAdminSessionInvalid {
				s.authFailures.allow(ip, time.Now())
				refused(r, domain.CodeAdminSessionInvalid, s.identify(strings.TrimSpace(key)))
			}
			s.writeError(w, r, err)
			return
		}
		if ok, wait := s.perKey.allow(p.ID(), time.Now()); !ok {
			refused(r, domain.CodeRateLimited, p)
			s.tooMany(w, r, wait, "requests for this admin key")
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), keyPrincipal, p)))
	})
}

// bearer returns the presented bearer credential, or "".
func bearer(r *http.Request) string {
	scheme, key, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return ""
	}
	return strings.TrimSpace(key)
}

// principal returns the authenticated key of the request.
func principal(r *http.Request) *app.Principal {
	p, _ := r.Context().Value(keyPrincipal).(*app.Principal)
	return p
}

// scoped lets a request through only if its key holds scope.
func (s *Server) scoped(scope domain.Scope, h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if p := principal(r); p == nil || !p.Can(scope) {
			refused(r, domain.CodeForbidden, p)
			kind := "admin key"
			if p != nil {
				kind = p.Kind()
			}
			s.writeError(w, r, domain.Errorf(domain.CodeForbidden, "this %s lacks the %s scope", kind, scope))
			return
		}
		h(w, r)
	})
}

// meta builds the event metadata of a request: the acting key, never
// anything the client claims to be.
func meta(r *http.Request) app.Meta {
	m := app.Meta{RequestID: requestID(r.Context()), SourceIP: sourceIP(r), UserAgent: truncate(r.UserAgent(), 512)}
	if p := principal(r); p != nil {
		m.Actor = p.Actor()
	}
	return m
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}

// countAuthentication counts an authentication by credential kind and
// outcome (sessiond_admin_authentications_total).
func countAuthentication(credential string, err error) {
	kind := "key"
	if !strings.HasPrefix(credential, app.KeyPrefix) && strings.Count(credential, ".") == 2 {
		kind = "token"
	}
	outcome := "ok"
	switch domain.ErrorCode(err) {
	case "":
	case domain.CodeForbidden:
		outcome = "forbidden"
	case domain.CodeAdminSessionInvalid:
		outcome = "invalid"
	case domain.CodeUnavailable:
		outcome = "unavailable"
	default:
		outcome = "error"
	}
	authentications.WithLabelValues(kind, outcome).Inc()
}
