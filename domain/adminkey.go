package domain

import (
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Scope is a permission an admin key carries.
type Scope string

// The admin scopes of the public contract (section 4).
const (
	ScopeSessionsRead   Scope = "sessions:read"
	ScopeSessionsWrite  Scope = "sessions:write"
	ScopeSessionsRevoke Scope = "sessions:revoke"
	ScopeAuditRead      Scope = "audit:read"
	// ScopeSSFManage manages Shared Signals streams and polls them.
	ScopeSSFManage Scope = "ssf:manage"
)

// AllScopes lists every scope, in a stable order.
var AllScopes = []Scope{ScopeSessionsRead, ScopeSessionsWrite, ScopeSessionsRevoke, ScopeAuditRead, ScopeSSFManage, ScopePersonalRead}

// ParseScopes parses a comma-separated scope list. Unknown scopes and an
// empty list are VALIDATION_FAILED. Duplicates are removed.
func ParseScopes(s string) ([]Scope, error) {
	var out []Scope
	for part := range strings.SplitSeq(s, ",") {
		sc := Scope(strings.TrimSpace(part))
		if sc == "" {
			continue
		}
		if !slices.Contains(AllScopes, sc) {
			return nil, Errorf(CodeValidation, "unknown scope %q (known: %s)", sc, joinScopes(AllScopes))
		}
		if !slices.Contains(out, sc) {
			out = append(out, sc)
		}
	}
	if len(out) == 0 {
		return nil, Errorf(CodeValidation, "scopes must name at least one of %s", joinScopes(AllScopes))
	}
	return out, nil
}

func joinScopes(sc []Scope) string {
	parts := make([]string, len(sc))
	for i, s := range sc {
		parts[i] = string(s)
	}
	return strings.Join(parts, ",")
}

// AdminKey is the admin key aggregate, rebuilt from its stream.
type AdminKey struct {
	id        string
	name      string
	scopes    []Scope
	keyHash   string
	createdAt time.Time
	revokedAt *time.Time
	version   int64
}

// RestoreAdminKey rebuilds an admin key from its stream's events. It
// returns nil, nil for an empty stream.
func RestoreAdminKey(events []Event) (*AdminKey, error) {
	var k *AdminKey
	for _, e := range events {
		switch e := e.(type) {
		case AdminKeyCreated:
			if k != nil {
				return nil, fmt.Errorf("restore admin key %s: created twice", e.KeyID)
			}
			k = &AdminKey{id: e.KeyID, name: e.Name, scopes: e.Scopes, keyHash: e.KeyHash, createdAt: e.CreatedAt}
		case AdminKeyRevoked:
			if k == nil {
				return nil, fmt.Errorf("restore admin key %s: revoked before created", e.KeyID)
			}
			if k.revokedAt == nil {
				at := e.RevokedAt
				k.revokedAt = &at
			}
		default:
			return nil, fmt.Errorf("restore admin key: unexpected %s event", e.EventType())
		}
	}
	if k != nil {
		k.version = int64(len(events))
	}
	return k, nil
}

// ID returns the key id.
func (k *AdminKey) ID() string { return k.id }

// Name returns the key's human name.
func (k *AdminKey) Name() string { return k.name }

// Scopes returns the key's scopes.
func (k *AdminKey) Scopes() []Scope { return k.scopes }

// RevokedAt returns when the key was revoked, or nil.
func (k *AdminKey) RevokedAt() *time.Time { return k.revokedAt }

// Version is the stream version the key was rebuilt at.
func (k *AdminKey) Version() int64 { return k.version }

// HasScope reports whether the key carries sc.
func (k *AdminKey) HasScope(sc Scope) bool { return slices.Contains(k.scopes, sc) }

// CreateAdminKey is the command to create an admin key. The caller makes
// the id and the secret; only the secret's hash reaches the event.
type CreateAdminKey struct {
	KeyID   string
	Name    string
	Scopes  []Scope
	KeyHash string
	By      *Actor
	// Owner is free text naming who holds the key (at most
	// MaxKeyOwnerLength characters, no control characters).
	Owner string
	// TakenNames maps the name of every key already created, revoked or
	// not, to its id: names are unique over the whole log, so a name in
	// the audit trail always means one key.
	TakenNames map[string]string
}

// MaxKeyOwnerLength bounds an admin key's owner.
const MaxKeyOwnerLength = 256

// DecideCreateKey validates a CreateAdminKey command and returns its event.
// existing is the key already stored under that id (nil if none); reusing
// an id is a CONFLICT.
func DecideCreateKey(existing *AdminKey, cmd CreateAdminKey, now time.Time) (*AdminKeyCreated, error) {
	if existing != nil {
		return nil, Errorf(CodeConflict, "admin key %s already exists", cmd.KeyID)
	}
	if cmd.KeyID == "" {
		return nil, Errorf(CodeValidation, "key id must not be empty")
	}
	if n := utf8.RuneCountInString(cmd.Name); n == 0 || n > MaxKeyNameLength || !utf8.ValidString(cmd.Name) {
		return nil, Errorf(CodeValidation, "name must be 1 to %d characters", MaxKeyNameLength)
	}
	for _, r := range cmd.Name {
		if unicode.IsControl(r) {
			return nil, Errorf(CodeValidation, "name must not contain control characters")
		}
	}
	if id, taken := cmd.TakenNames[cmd.Name]; taken {
		return nil, Errorf(CodeConflict, "the name %q is already used by admin key %s (names are never reused, even after revocation)", cmd.Name, id)
	}
	if utf8.RuneCountInString(cmd.Owner) > MaxKeyOwnerLength || !utf8.ValidString(cmd.Owner) {
		return nil, Errorf(CodeValidation, "owner must be at most %d characters", MaxKeyOwnerLength)
	}
	for _, r := range cmd.Owner {
		if unicode.IsControl(r) {
			return nil, Errorf(CodeValidation, "owner must not contain control characters")
		}
	}
	if len(cmd.Scopes) == 0 {
		return nil, Errorf(CodeValidation, "scopes must name at least one of %s", joinScopes(AllScopes))
	}
	for _, sc := range cmd.Scopes {
		if !slices.Contains(AllScopes, sc) {
			return nil, Errorf(CodeValidation, "unknown scope %q", sc)
		}
	}
	if len(cmd.KeyHash) != 64 || strings.Trim(cmd.KeyHash, "0123456789abcdef") != "" {
		return nil, Errorf(CodeValidation, "key hash must be a lower-case hex SHA-256")
	}
	return &AdminKeyCreated{
		KeyID:     cmd.KeyID,
		Name:      cmd.Name,
		Scopes:    slices.Clone(cmd.Scopes),
		KeyHash:   cmd.KeyHash,
		CreatedAt: normalize(now),
		CreatedBy: cmd.By,
		Owner:     cmd.Owner,
	}, nil
}

// DecideRevokeKey revokes an admin key. An unknown key is KEY_NOT_FOUND; an
// already revoked key yields no event.
func DecideRevokeKey(k *AdminKey, keyID string, by *Actor, now time.Time) (*AdminKeyRevoked, error) {
	if k == nil {
		return nil, Errorf(CodeKeyNotFound, "admin key %s not found", keyID)
	}
	if k.revokedAt != nil {
		return nil, nil
	}
	return &AdminKeyRevoked{KeyID: k.id, RevokedAt: normalize(now), RevokedBy: by}, nil
}
