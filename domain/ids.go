package domain

import "unicode/utf8"

// Identifier limits from the public contract (section 3).
const (
	MaxSessionIDLength = 128
	MaxUserIDLength    = 256
	MaxReasonLength    = 512  // characters, not bytes
	MaxMetadataBytes   = 4096 // encoded JSON
	MaxKeyNameLength   = 128
)

// ValidateSessionID checks s against ^[A-Za-z0-9_-]{1,128}$.
func ValidateSessionID(s string) error {
	if len(s) == 0 || len(s) > MaxSessionIDLength {
		return Errorf(CodeValidation, "sessionId must be 1 to %d characters", MaxSessionIDLength)
	}
	for i := 0; i < len(s); i++ {
		if !isAlnum(s[i]) && s[i] != '_' && s[i] != '-' {
			return Errorf(CodeValidation, "sessionId may only contain A-Z, a-z, 0-9, '_' and '-'")
		}
	}
	return nil
}

// ValidateUserID checks s against the user id grammar: 1 to 256 characters
// from [A-Za-z0-9._~:@|+=-].
func ValidateUserID(s string) error {
	if len(s) == 0 || len(s) > MaxUserIDLength {
		return Errorf(CodeValidation, "id (user id) must be 1 to %d characters", MaxUserIDLength)
	}
	for i := 0; i < len(s); i++ {
		if !isAlnum(s[i]) && !isUserPunct(s[i]) {
			return Errorf(CodeValidation, "id (user id) may only contain A-Z, a-z, 0-9 and . _ ~ : @ | + = -")
		}
	}
	return nil
}

// ValidateReason checks that a revocation reason is valid UTF-8 of at most
// MaxReasonLength characters.
func ValidateReason(s string) error {
	if !utf8.ValidString(s) {
		return Errorf(CodeValidation, "reason must be valid UTF-8")
	}
	if utf8.RuneCountInString(s) > MaxReasonLength {
		return Errorf(CodeValidation, "reason must be at most %d characters", MaxReasonLength)
	}
	for _, r := range s {
		if r == 0 {
			return Errorf(CodeValidation, "reason must not contain NUL characters")
		}
	}
	return nil
}

func isAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

func isUserPunct(c byte) bool {
	switch c {
	case '.', '_', '~', ':', '@', '|', '+', '=', '-':
		return true
	}
	return false
}
