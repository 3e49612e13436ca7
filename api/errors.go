package api

import (
	"context"
	"errors"
	"net/http"

	"github.com/sessiond/sessiond/domain"
	"github.com/sessiond/sessiond/internal/apiwire"
)

// ErrorResponse is the body of every non-2xx response (the seed's
// ApiErrorResponseDto).
type ErrorResponse struct {
	StatusCode int    `json:"statusCode"`
	Error      string `json:"error"`
	Message    string `json:"message"`
	Code       string `json:"code"`
}

// StatusClientClosed is the status recorded (in metrics and the debug
// log, as nginx does) for a request whose client disconnected before the
// answer; the client never sees it.
const StatusClientClosed = 499

// writeError answers with err's code and client-safe message. Internal
// errors are logged here, once, and never shown; unavailability and
// unknown outcomes are logged as warnings. A request whose client has
// gone is not an error of ours: it is logged at debug level and counted
// as 499.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, context.Canceled) && r.Context().Err() != nil {
		s.log.DebugContext(r.Context(), "client closed the request", "err", err, "method", r.Method, "path", r.URL.Path, "requestId", requestID(r.Context()))
		w.WriteHeader(StatusClientClosed)
		return
	}
	code := domain.ErrorCode(err)
	status := apiwire.StatusOf(code)
	switch code {
	case domain.CodeInternal:
		s.log.ErrorContext(r.Context(), "internal error", "err", err, "method", r.Method, "path", r.URL.Path, "requestId", requestID(r.Context()))
	case domain.CodeUnavailable:
		s.log.WarnContext(r.Context(), "store unavailable", "err", err, "requestId", requestID(r.Context()))
	case domain.CodeOutcomeUnknown:
		s.log.WarnContext(r.Context(), "outcome unknown", "err", err, "method", r.Method, "path", r.URL.Path, "requestId", requestID(r.Context()))
	}
	writeJSON(w, status, ErrorResponse{
		StatusCode: status,
		Error:      http.StatusText(status),
		Message:    domain.ErrorMessage(err),
		Code:       string(code),
	})
}
