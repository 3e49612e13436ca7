package app

import (
	"context"
	"fmt"

	"github.com/sessiond/sessiond/domain"
)

// snapshot returns a session as the read model holds it (nil if there is
// none), for deciding a command without replaying its stream. The read
// model is written in the transaction of every append, so the row is the
// stream's state at some committed version; a decision taken from a row
// that is stale by the time it is appended fails the append's version
// guard (ErrConflict), and the caller decides again.
func (s *Service) snapshot(ctx context.Context, sessionID string) (*domain.Session, error) {
	row, err := s.reads.Session(ctx, sessionID)
	if err != nil {
		return nil, storeError(err)
	}
	if row == nil {
		return nil, nil
	}
	snap := domain.SessionSnapshot{ID: row.SessionID, UserID: row.UserID, StartedAt: row.StartedAt,
		ExpiresAt: row.ExpiresAt, Metadata: row.Metadata, Version: row.Version}
	if row.RevokedAt != nil {
		snap.Revocation = &domain.Revocation{At: *row.RevokedAt}
		if row.RevokedByKeyID != nil {
			snap.Revocation.By.KeyID = *row.RevokedByKeyID
		}
		if row.RevokedBy != nil {
			snap.Revocation.By.KeyName = *row.RevokedBy
		}
		if row.Reason != nil {
			snap.Revocation.Reason = *row.Reason
		}
	}
	sess, err := domain.SessionFromSnapshot(snap)
	if err != nil {
		return nil, fmt.Errorf("read model: %w", err)
	}
	return sess, nil
}
