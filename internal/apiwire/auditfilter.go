package apiwire

import (
	"net/http"
	"strconv"
	"time"

	"github.com/sessiond/sessiond/domain"
	"github.com/sessiond/sessiond/internal/app"
)

// AuditFilter parses the query parameters of GET /audit/events (userId,
// sessionId, type, actor, from, to, afterPosition) into a filter, with the
// API's validation, so that every front-end taking them selects exactly
// the same events.
func AuditFilter(r *http.Request) (app.AuditFilter, error) {
	q := r.URL.Query()
	f := app.AuditFilter{UserID: q.Get("userId"), SessionID: q.Get("sessionId"), Type: q.Get("type"), Actor: q.Get("actor")}
	if f.UserID != "" {
		if err := domain.ValidateUserID(f.UserID); err != nil {
			return f, err
		}
	}
	if f.SessionID != "" {
		if err := domain.ValidateSessionID(f.SessionID); err != nil {
			return f, err
		}
	}
	if len(f.Type) > 64 || len(f.Actor) > 256 {
		return f, domain.Errorf(domain.CodeValidation, "type is at most 64 and actor at most 256 characters")
	}
	for name, dst := range map[string]*time.Time{"from": &f.From, "to": &f.To} {
		if v := q.Get(name); v != "" {
			t, err := time.Parse(time.RFC3339Nano, v)
			if err != nil {
				return f, domain.Errorf(domain.CodeValidation, "%s must be an RFC 3339 time, e.g. 2026-03-01T14:03:00Z", name)
			}
			*dst = t
		}
	}
	if v := q.Get("afterPosition"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			return f, domain.Errorf(domain.CodeValidation, "afterPosition must be a non-negative integer")
		}
		f.AfterPosition = n
	}
	return f, nil
}
