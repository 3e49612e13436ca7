package apiwire

import (
	"maps"
	"net/http"
	"slices"

	"github.com/sessiond/sessiond/domain"
)

// statusOf is the one table from error code to HTTP status.
var statusOf = map[domain.Code]int{
	domain.CodeValidation:           http.StatusBadRequest,
	domain.CodeAdminSessionMissing:  http.StatusUnauthorized,
	domain.CodeAdminSessionInvalid:  http.StatusUnauthorized,
	domain.CodeForbidden:            http.StatusForbidden,
	domain.CodeUserNotFound:         http.StatusNotFound,
	domain.CodeSessionNotFound:      http.StatusNotFound,
	domain.CodeKeyNotFound:          http.StatusNotFound,
	domain.CodeStreamNotFound:       http.StatusNotFound,
	domain.CodeRouteNotFound:        http.StatusNotFound,
	domain.CodeMethodNotAllowed:     http.StatusMethodNotAllowed,
	domain.CodeConflict:             http.StatusConflict,
	domain.CodeIdempotencyKeyInUse:  http.StatusConflict,
	domain.CodeIdempotencyKeyReused: http.StatusUnprocessableEntity,
	domain.CodePayloadTooLarge:      http.StatusRequestEntityTooLarge,
	domain.CodeRateLimited:          http.StatusTooManyRequests,
	domain.CodeUnavailable:          http.StatusServiceUnavailable,
	domain.CodeOutcomeUnknown:       http.StatusServiceUnavailable,
	domain.CodeInternal:             http.StatusInternalServerError,
}

// StatusOf returns the HTTP status of an error code.
func StatusOf(code domain.Code) int {
	if s, ok := statusOf[code]; ok {
		return s
	}
	return http.StatusInternalServerError
}

// Codes lists the codes the status table maps, sorted.
func Codes() []domain.Code { return slices.Sorted(maps.Keys(statusOf)) }
