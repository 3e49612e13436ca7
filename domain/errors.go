package domain

import (
	"errors"
	"fmt"
)

// Code is a stable, machine-readable error code. Clients branch on it.
type Code string

// The error codes of the public contract (section 5).
const (
	CodeValidation          Code = "VALIDATION_FAILED"
	CodeAdminSessionMissing Code = "ADMIN_SESSION_MISSING"
	CodeAdminSessionInvalid Code = "ADMIN_SESSION_INVALID"
	CodeForbidden           Code = "FORBIDDEN"
	CodeUserNotFound        Code = "USER_NOT_FOUND"
	CodeSessionNotFound     Code = "SESSION_NOT_FOUND"
	CodeKeyNotFound         Code = "KEY_NOT_FOUND"
	CodeStreamNotFound      Code = "STREAM_NOT_FOUND" // an SSF stream
	CodeRouteNotFound       Code = "ROUTE_NOT_FOUND"
	CodeMethodNotAllowed    Code = "METHOD_NOT_ALLOWED"
	CodeConflict            Code = "CONFLICT"
	CodePayloadTooLarge     Code = "PAYLOAD_TOO_LARGE"
	CodeRateLimited         Code = "RATE_LIMITED"
	CodeUnavailable         Code = "UNAVAILABLE"
	CodeInternal            Code = "INTERNAL"
)

// Codes beyond the contract's table (README, "Differences from the
// contract").
const (
	// CodeOutcomeUnknown: the store could not confirm whether a change was
	// recorded (a deadline or a broken connection after COMMIT was sent,
	// or a deadline while the change was being committed). It may or may
	// not have happened; a retry with the same Idempotency-Key is safe.
	CodeOutcomeUnknown Code = "OUTCOME_UNKNOWN"
	// CodeIdempotencyKeyInUse: another request with the same
	// Idempotency-Key is still being processed.
	CodeIdempotencyKeyInUse Code = "IDEMPOTENCY_KEY_IN_USE"
	// CodeIdempotencyKeyReused: the Idempotency-Key was used before for a
	// different request (method, path or body).
	CodeIdempotencyKeyReused Code = "IDEMPOTENCY_KEY_REUSED"
)

// Error is an application error with a stable code and a message that is
// safe to show to a client.
type Error struct {
	Code    Code
	Message string
}

// Error implements error.
func (e *Error) Error() string { return fmt.Sprintf("%s: %s", e.Code, e.Message) }

// Errorf returns an *Error with the given code and a formatted message.
func Errorf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of the first *Error in err's chain, or
// CodeInternal when there is none. A nil error has the empty code.
func ErrorCode(err error) Code {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return CodeInternal
}

// ErrorMessage returns the client-safe message of err: the message of its
// *Error, or a generic text for internal errors, which must not leak.
func ErrorMessage(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	return "internal error"
}
