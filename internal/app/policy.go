package app

import (
	"strings"

	"github.com/sessiond/sessiond/domain"
)

// CommandPolicy is optional operator policy on commands.
type CommandPolicy struct {
	// RequireReason makes a revocation (one session or all of a user's)
	// without a reason VALIDATION_FAILED.
	RequireReason bool
}

// WithPolicy applies p to the service's commands. It returns s.
func (s *Service) WithPolicy(p CommandPolicy) *Service {
	s.requireReason = p.RequireReason
	return s
}

func (s *Service) checkReason(reason string) error {
	if s.requireReason && strings.TrimSpace(reason) == "" {
		return domain.Errorf(domain.CodeValidation, "reason is required: this server runs with --require-reason")
	}
	return nil
}

// Identify returns who a presented admin key belongs to, revoked or not,
// or nil; it never authenticates anything.
func (s *Service) Identify(presented string) *Principal {
	if s.keys == nil {
		return nil
	}
	return s.keys.Identify(presented)
}

// KeyOwner returns the owner recorded for admin key id, or "".
func (s *Service) KeyOwner(id string) string {
	if s.keys == nil {
		return ""
	}
	return s.keys.Owner(id)
}

// withOwner fills in the owner of the key that revoked v when the
// revocation does not record one (the read model keeps only id and name;
// events from before owners existed have none).
func (s *Service) withOwner(v Session) Session {
	if v.Revoked != nil && v.Revoked.By.Owner == "" && v.Revoked.By.KeyID != "" {
		rv := *v.Revoked
		rv.By.Owner = s.KeyOwner(rv.By.KeyID)
		v.Revoked = &rv
	}
	return v
}
