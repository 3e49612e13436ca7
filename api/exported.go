package api

import (
	"net/http"

	"github.com/sessiond/sessiond/internal/app"
)

// SessionDTOOf renders a session as the API answers it, for other
// front-ends (the console) that show "what the API would answer".
func SessionDTOOf(s app.Session) SessionDTO { return sessionDTO(s) }

// AuditFilterOf parses the query parameters of GET /audit/events into a
// filter, with the API's validation, so another front-end that takes the
// same parameters selects exactly the same events.
func AuditFilterOf(r *http.Request) (app.AuditFilter, error) { return auditFilter(r) }
