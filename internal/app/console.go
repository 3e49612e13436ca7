package app

import (
	"context"
	"errors"

	"github.com/sessiond/sessiond/domain"
	"github.com/sessiond/sessiond/eventstore"
)

// ErrConsoleRecorded means the console session's stream already holds the
// event being recorded (a second sign-out of one session): nothing new was
// appended.
var ErrConsoleRecorded = errors.New("console session event already recorded")

// RecordConsoleSignIn appends ConsoleSignedIn, the first event of the
// console session's stream.
func (s *Service) RecordConsoleSignIn(ctx context.Context, meta Meta, e domain.ConsoleSignedIn) error {
	return s.recordConsole(ctx, meta, e, 0)
}

// RecordConsoleSignOut appends ConsoleSignedOut after the session's
// sign-in. A session ends once: a second sign-out returns
// ErrConsoleRecorded and appends nothing.
func (s *Service) RecordConsoleSignOut(ctx context.Context, meta Meta, e domain.ConsoleSignedOut) error {
	return s.recordConsole(ctx, meta, e, 1)
}

func (s *Service) recordConsole(ctx context.Context, meta Meta, e domain.Event, expected int64) error {
	sa, err := s.streamAppend(meta, e.StreamID(), expected, e)
	if err != nil {
		return err
	}
	_, err = s.log.Append(ctx, sa)
	if errors.Is(err, eventstore.ErrConflict) {
		return ErrConsoleRecorded
	}
	return storeError(err)
}

// PrincipalByID returns the current principal of an admin key by its id,
// from the same in-memory key table Authenticate reads: a console session
// started with a key asks on every request, so revoking the key (or
// changing what the table knows of it) takes effect in the console too.
// An unknown or revoked key is ADMIN_SESSION_INVALID.
func (s *Service) PrincipalByID(keyID string) (*Principal, error) {
	if s.keys == nil {
		return nil, domain.Errorf(domain.CodeUnavailable, "admin keys are not loaded; retry later")
	}
	if err := s.keys.Ready(context.Background()); err != nil {
		return nil, domain.Errorf(domain.CodeUnavailable, "admin keys cannot be checked: %v; retry later", err)
	}
	e := s.keys.snap.Load().byID[keyID]
	if e == nil || e.principal == nil || e.revoked {
		return nil, errInvalidKey()
	}
	return e.principal, nil
}
