package verifier

import (
	"context"
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

// Middleware lets a request through only if its session is valid and not
// revoked. With WithJWKS it reads the bearer JWT, verifies it (401
// TOKEN_INVALID or TOKEN_EXPIRED) and puts its Claims in the request
// context (ClaimsFrom); otherwise the session id comes from WithSessionID.
// A revoked session is 401 SESSION_REVOKED; when fail-closed and the feed
// is stale, 503 REVOCATIONS_STALE. Revocation is checked on every request.
// It panics if the Verifier has neither WithJWKS nor WithSessionID: there
// is no credential it could trust.
func (v *Verifier) Middleware(next http.Handler) http.Handler {
	if v.tokens == nil && v.cfg.sessionID == nil {
		panic("verifier: Middleware needs WithJWKS (signed tokens) or WithSessionID")
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var (
			id     string
			claims Claims
			at     = v.now.Load() // the instant revocation is judged at
		)
		if v.tokens != nil {
			tok, ok := bearer(r)
			if !ok {
				WriteError(w, http.StatusUnauthorized, CodeTokenInvalid, "a session token is required: Authorization: Bearer <token>")
				return
			}
			now := v.cfg.now()
			c, err := v.tokens.verify(r.Context(), tok, now, v.set.forgotten())
			switch {
			case errors.Is(err, ErrTokenExpired):
				WriteError(w, http.StatusUnauthorized, CodeTokenExpired, "the session token has expired")
				return
			case err != nil:
				WriteError(w, http.StatusUnauthorized, CodeTokenInvalid, "the session token is not valid")
				return
			}
			id, claims, at = c.SessionID, c, min(at, now.UnixNano()) // never later than the exp check's instant
			r = r.WithContext(context.WithValue(r.Context(), claimsKey{}, c))
		} else {
			var err error
			if id, err = v.cfg.sessionID(r); err != nil {
				WriteError(w, http.StatusUnauthorized, CodeTokenInvalid, "no valid session credential")
				return
			}
		}
		err := v.check(id, at)
		if err == nil && v.tokens != nil && v.tokens.forgotten(claims, v.set.forgotten()) {
			// Dropped by a sweep between the exp check and the lookup.
			WriteError(w, http.StatusUnauthorized, CodeTokenExpired, "the session token has expired")
			return
		}
		switch {
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
