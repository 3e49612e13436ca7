package domain_test

import (
	"regexp"
	"strings"
	"testing"

	"github.com/sessiond/sessiond/domain"
)

// The grammars of the public contract, used as oracles.
var (
	sessionIDGrammar = regexp.MustCompile(`^[A-Za-z0-9_-]{1,128}$`)
	userIDGrammar    = regexp.MustCompile(`^[A-Za-z0-9._~:@|+=-]{1,256}$`)
)

// Field names the validation messages must mention.
var (
	namesSessionID = regexp.MustCompile(`\bsessionId\b`)
	namesUserID    = regexp.MustCompile(`\bid\b`)
)

const (
	sessionIDChars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-"
	userIDChars    = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._~:@|+=-"
)

func TestValidateSessionID(t *testing.T) {
	tests := []struct {
		name string
		in   string
		ok   bool
	}{
		{"one letter", "a", true},
		{"one digit", "7", true},
		{"underscore", "_", true},
		{"dash", "-", true},
		{"mixed", "A-z_0", true},
		{"uuid", "019362f4-7b1c-7cc3-9d8e-0a1b2c3d4e5f", true},
		{"alphabet", sessionIDChars, true},
		{"128", strings.Repeat("x", 128), true},
		{"empty", "", false},
		{"129", strings.Repeat("x", 129), false},
		{"200", strings.Repeat("x", 200), false},
		{"space", "a b", false},
		{"slash", "a/b", false},
		{"percent", "a%2F", false},
		{"dot", "a.b", false},
		{"at", "a@b", false},
		{"pipe", "a|b", false},
		{"plus", "a+b", false},
		{"colon", "a:b", false},
		{"tilde", "a~b", false},
		{"non-ascii", "é", false},
		{"nul", "a\x00", false},
		{"newline", "abc\n", false},
		{"tab", "\tabc", false},
		{"invalid utf8", "a\xff", false},
		{"bad first", "/" + strings.Repeat("a", 127), false},
		{"bad last", strings.Repeat("a", 127) + "/", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := domain.ValidateSessionID(tc.in)
			if tc.ok {
				if err != nil {
					t.Fatalf("ValidateSessionID(%q) = %v, want nil", tc.in, err)
				}
				return
			}
			wantCode(t, err, domain.CodeValidation)
			if msg := domain.ErrorMessage(err); !namesSessionID.MatchString(msg) {
				t.Errorf("message %q does not name sessionId", msg)
			}
		})
	}
	t.Run("every byte", func(t *testing.T) {
		for b := 0; b < 256; b++ {
			s := string([]byte{byte(b)})
			if got, want := domain.ValidateSessionID(s) == nil, strings.Contains(sessionIDChars, s); got != want {
				t.Errorf("ValidateSessionID(%q) ok = %v, want %v", s, got, want)
			}
		}
	})
}

func TestValidateUserID(t *testing.T) {
	tests := []struct {
		name string
		in   string
		ok   bool
	}{
		{"uuid", "019362f4-7b1c-7cc3-9d8e-0a1b2c3d4e5f", true},
		{"number", "42", true},
		{"email", "a.b@example.org", true},
		{"provider", "provider|123", true},
		{"punctuation", "x+y=z~:", true},
		{"underscore", "a_b", true},
		{"one", "u", true},
		{"alphabet", userIDChars, true},
		{"256", strings.Repeat("u", 256), true},
		{"empty", "", false},
		{"257", strings.Repeat("u", 257), false},
		{"space", "a b", false},
		{"slash", "a/b", false},
		{"percent", "a%2F", false},
		{"hash", "a#b", false},
		{"comma", "a,b", false},
		{"semicolon", "a;b", false},
		{"question", "a?b", false},
		{"ampersand", "a&b", false},
		{"quote", `a"b`, false},
		{"backslash", `a\b`, false},
		{"non-ascii", "ü", false},
		{"nul", "a\x00", false},
		{"newline", "a\n", false},
		{"invalid utf8", "\xff", false},
		{"bad first", "/" + strings.Repeat("u", 255), false},
		{"bad last", strings.Repeat("u", 255) + "/", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := domain.ValidateUserID(tc.in)
			if tc.ok {
				if err != nil {
					t.Fatalf("ValidateUserID(%q) = %v, want nil", tc.in, err)
				}
				return
			}
			wantCode(t, err, domain.CodeValidation)
			msg := domain.ErrorMessage(err)
			if !namesUserID.MatchString(msg) {
				t.Errorf("message %q does not name the id field", msg)
			}
			if strings.Contains(msg, "sessionId") {
				t.Errorf("message %q names sessionId for a user id", msg)
			}
		})
	}
	t.Run("every byte", func(t *testing.T) {
		for b := 0; b < 256; b++ {
			s := string([]byte{byte(b)})
			if got, want := domain.ValidateUserID(s) == nil, strings.Contains(userIDChars, s); got != want {
				t.Errorf("ValidateUserID(%q) ok = %v, want %v", s, got, want)
			}
		}
	})
}

func TestValidateReason(t *testing.T) {
	tests := []struct {
		name string
		in   string
		ok   bool
	}{
		{"empty", "", true},
		{"short", "stolen laptop", true},
		{"newline", "line one\nline two", true},
		{"512 ascii", strings.Repeat("a", 512), true},
		{"512 two-byte", strings.Repeat("ü", 512), true},
		{"512 four-byte", strings.Repeat("😀", 512), true},
		{"replacement char", "\uFFFD", true},
		{"513 ascii", strings.Repeat("a", 513), false},
		{"513 two-byte", strings.Repeat("ü", 513), false},
		{"513 four-byte", strings.Repeat("😀", 513), false},
		{"invalid byte", "\xff", false},
		{"truncated rune", "ok\xc3", false},
		{"surrogate", "\xed\xa0\x80", false},
		{"nul", "a\x00", false},
		{"nul first", "\x00", false},
		{"nul inside", "stolen\x00laptop", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := domain.ValidateReason(tc.in)
			if tc.ok {
				if err != nil {
					t.Fatalf("ValidateReason(%d bytes) = %v, want nil", len(tc.in), err)
				}
				return
			}
			wantCode(t, err, domain.CodeValidation)
			if msg := domain.ErrorMessage(err); !strings.Contains(msg, "reason") {
				t.Errorf("message %q does not name reason", msg)
			}
		})
	}
}

func FuzzValidateIDs(f *testing.F) {
	for _, s := range []string{
		"", "a", "A-z_0", "a b", "a.b@example.org", "provider|123", "x+y=z~:",
		"é", "a\x00", "\xff", "a\n",
		strings.Repeat("x", 128), strings.Repeat("x", 129),
		strings.Repeat("u", 256), strings.Repeat("u", 257),
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := domain.ValidateSessionID(s) == nil, sessionIDGrammar.MatchString(s); got != want {
			t.Errorf("ValidateSessionID(%q) ok = %v, grammar says %v", s, got, want)
		}
		if got, want := domain.ValidateUserID(s) == nil, userIDGrammar.MatchString(s); got != want {
			t.Errorf("ValidateUserID(%q) ok = %v, grammar says %v", s, got, want)
		}
		if err := domain.ValidateSessionID(s); err != nil && domain.ErrorCode(err) != domain.CodeValidation {
			t.Errorf("ValidateSessionID(%q) code = %q", s, domain.ErrorCode(err))
		}
		if err := domain.ValidateUserID(s); err != nil && domain.ErrorCode(err) != domain.CodeValidation {
			t.Errorf("ValidateUserID(%q) code = %q", s, domain.ErrorCode(err))
		}
	})
}
