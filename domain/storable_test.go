package domain_test

import (
	"strings"
	"testing"
	"time"

	"github.com/sessiond/sessiond/domain"
)

// TestUnstorableInputIsValidationError: input the stores cannot keep (NUL
// characters) or that is not what it claims (a non-hex hash) is rejected
// by the domain as VALIDATION_FAILED, not left to fail later as INTERNAL.
func TestUnstorableInputIsValidationError(t *testing.T) {
	start := func(meta string) error {
		_, err := domain.DecideStart(nil, domain.StartSession{UserID: "u1", SessionID: "s1",
			ExpiresAt: t0.Add(time.Hour), Metadata: []byte(meta)}, t0)
		return err
	}
	for _, meta := range []string{`{"a":"x\u0000"}`, `{"a\u0000":1}`, `{"a":["\u0000"]}`, `{"a":{"b":"\u0000"}}`} {
		wantCode(t, start(meta), domain.CodeValidation)
	}
	if err := start(`{"a":"\\u0000 is only text"}`); err != nil {
		t.Errorf("an escaped backslash was taken for NUL: %v", err)
	}
	create := func(name, hash string) error {
		_, err := domain.DecideCreateKey(nil, domain.CreateAdminKey{KeyID: "k", Name: name,
			Scopes: domain.AllScopes, KeyHash: hash}, t0)
		return err
	}
	wantCode(t, create("ops\x00", hash64), domain.CodeValidation)
	wantCode(t, create("ops\n", hash64), domain.CodeValidation)
	wantCode(t, create("ops", strings.Repeat("z", 64)), domain.CodeValidation)
	wantCode(t, create("ops", strings.Repeat("AB", 32)), domain.CodeValidation)
	if err := create("ops team", hash64); err != nil {
		t.Errorf("a plain name was rejected: %v", err)
	}
}
