package domain_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/sessiond/sessiond/domain"
)

// wantCode fails the test unless err carries the given code.
func wantCode(t *testing.T, err error, want domain.Code) {
	t.Helper()
	if got := domain.ErrorCode(err); got != want {
		t.Fatalf("code = %q (err: %v), want %q", got, err, want)
	}
}

func TestCodes(t *testing.T) {
	// Clients branch on these strings: they must never change.
	tests := []struct {
		code domain.Code
		want string
	}{
		{domain.CodeValidation, "VALIDATION_FAILED"},
		{domain.CodeAdminSessionMissing, "ADMIN_SESSION_MISSING"},
		{domain.CodeAdminSessionInvalid, "ADMIN_SESSION_INVALID"},
		{domain.CodeForbidden, "FORBIDDEN"},
		{domain.CodeUserNotFound, "USER_NOT_FOUND"},
		{domain.CodeSessionNotFound, "SESSION_NOT_FOUND"},
		{domain.CodeKeyNotFound, "KEY_NOT_FOUND"},
		{domain.CodeRouteNotFound, "ROUTE_NOT_FOUND"},
		{domain.CodeMethodNotAllowed, "METHOD_NOT_ALLOWED"},
		{domain.CodeConflict, "CONFLICT"},
		{domain.CodePayloadTooLarge, "PAYLOAD_TOO_LARGE"},
		{domain.CodeRateLimited, "RATE_LIMITED"},
		{domain.CodeUnavailable, "UNAVAILABLE"},
		{domain.CodeInternal, "INTERNAL"},
		{domain.CodeOutcomeUnknown, "OUTCOME_UNKNOWN"},
		{domain.CodeIdempotencyKeyInUse, "IDEMPOTENCY_KEY_IN_USE"},
		{domain.CodeIdempotencyKeyReused, "IDEMPOTENCY_KEY_REUSED"},
	}
	for _, tc := range tests {
		t.Run(tc.want, func(t *testing.T) {
			if got, want := string(tc.code), tc.want; got != want {
				t.Errorf("code = %q, want %q", got, want)
			}
		})
	}
}

func TestErrorf(t *testing.T) {
	e := domain.Errorf(domain.CodeSessionNotFound, "session %s not found for user %d", "s1", 42)
	if got, want := e.Code, domain.CodeSessionNotFound; got != want {
		t.Errorf("Code = %q, want %q", got, want)
	}
	if got, want := e.Message, "session s1 not found for user 42"; got != want {
		t.Errorf("Message = %q, want %q", got, want)
	}
	if got, want := e.Error(), "SESSION_NOT_FOUND: session s1 not found for user 42"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}

func TestErrorCode(t *testing.T) {
	conflict := domain.Errorf(domain.CodeConflict, "taken")
	notFound := domain.Errorf(domain.CodeSessionNotFound, "session s1 not found")
	tests := []struct {
		name string
		err  error
		want domain.Code
	}{
		{"nil", nil, ""},
		{"error", notFound, domain.CodeSessionNotFound},
		{"other code", conflict, domain.CodeConflict},
		{"literal", &domain.Error{Code: domain.CodeForbidden, Message: "no"}, domain.CodeForbidden},
		{"wrapped", fmt.Errorf("revoke: %w", notFound), domain.CodeSessionNotFound},
		{"wrapped twice", fmt.Errorf("api: %w", fmt.Errorf("revoke: %w", conflict)), domain.CodeConflict},
		{"joined", errors.Join(errors.New("pq: boom"), conflict), domain.CodeConflict},
		{"plain", errors.New("pq: connection refused"), domain.CodeInternal},
		{"wrapped plain", fmt.Errorf("append: %w", errors.New("boom")), domain.CodeInternal},
		{"formatted not wrapped", fmt.Errorf("revoke: %v", notFound), domain.CodeInternal},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got, want := domain.ErrorCode(tc.err), tc.want; got != want {
				t.Errorf("ErrorCode(%v) = %q, want %q", tc.err, got, want)
			}
		})
	}
}

func TestErrorMessage(t *testing.T) {
	notFound := domain.Errorf(domain.CodeSessionNotFound, "session %s not found", "s1")
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"error", notFound, "session s1 not found"},
		{"wrapped", fmt.Errorf("SELECT secret FROM keys: %w", notFound), "session s1 not found"},
		{"plain", errors.New("pq: SELECT secret FROM keys"), "internal error"},
		{"wrapped plain", fmt.Errorf("append: %w", errors.New("password=hunter2")), "internal error"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := domain.ErrorMessage(tc.err)
			if want := tc.want; got != want {
				t.Errorf("ErrorMessage(%v) = %q, want %q", tc.err, got, want)
			}
			for _, secret := range []string{"SELECT", "secret", "hunter2", "pq:"} {
				if strings.Contains(got, secret) {
					t.Errorf("ErrorMessage(%v) = %q leaks %q", tc.err, got, secret)
				}
			}
		})
	}
}
