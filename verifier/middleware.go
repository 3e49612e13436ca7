package verifier

import (
	"encoding/json"
	"errors"
	"net/http"
)

// Error codes the middleware answers with (the contract's error table).
const (
	CodeSessionRevoked   = "SESSION_REVOKED"
	CodeTokenInvalid     = "TOKEN_INVALID"
	CodeTokenExpired     = "TOKEN_EXPIRED"
	CodeRevocationsStale = "REVOCATIONS_STALE"
)

// ErrorResponse is the contract's error body.
type ErrorResponse struct {
	StatusCode int    `json:"statusCode"`
	Error      string `json:"error"`
	Message    string `json:"message"`
	Code       string `json:"code"`
}

// Middleware rejects requests whose session has been revoked (401
// SESSION_REVOKED), that name no session (401 TOKEN_INVALID), or — when
// fail-closed — that arrive while the feed is stale (503
// REVOCATIONS_STALE). The session id comes from WithSessionID.
func (v *Verifier) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, err := v.cfg.sessionID(r)
		if err != nil {
			WriteError(w, http.StatusUnauthorized, CodeTokenInvalid, "no valid session credential")
			return
		}
		switch err := v.Check(id); {
		case err == nil:
			next.ServeHTTP(w, r)
		case errors.Is(err, ErrRevoked):
			WriteError(w, http.StatusUnauthorized, CodeSessionRevoked, "the session has been revoked")
		default:
			WriteError(w, http.StatusServiceUnavailable, CodeRevocationsStale, "the revocation feed is stale; try again shortly")
		}
	})
}

// WriteError writes the contract's error body.
func WriteError(w http.ResponseWriter, status int, code, message string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(ErrorResponse{StatusCode: status, Error: http.StatusText(status), Message: message, Code: code})
}
