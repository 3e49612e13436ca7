package api_test

import (
	"context"
	"log/slog"
	"time"

	"github.com/sessiond/sessiond/domain"
	"github.com/sessiond/sessiond/internal/app"
)

// fakeService is a pure stand-in for the application service: it applies
// the domain's validation and answers from memory.
type fakeService struct {
	panicOn  string                          // a session id whose revocation panics
	onRevoke func(ctx context.Context) error // if set, runs first; its error is returned
}

const fakeKey = "good-key"

func (f *fakeService) Authenticate(_ context.Context, key string) (*app.Principal, error) {
	if key != fakeKey {
		return nil, domain.Errorf(domain.CodeAdminSessionInvalid, "bad key")
	}
	return &app.Principal{KeyID: "k1", Name: "ops", Scopes: domain.AllScopes}, nil
}

func (f *fakeService) session(userID, sessionID string) app.Session {
	now := time.Date(2026, 3, 1, 14, 3, 0, 0, time.UTC)
	return app.Session{SessionID: sessionID, UserID: userID, Status: domain.StatusActive, StartedAt: now, ExpiresAt: now.Add(time.Hour)}
}

func (f *fakeService) Start(_ context.Context, _ app.Meta, cmd domain.StartSession) (app.Session, bool, error) {
	if _, err := domain.DecideStart(nil, cmd, time.Now()); err != nil {
		return app.Session{}, false, err
	}
	return f.session(cmd.UserID, cmd.SessionID), true, nil
}

func (f *fakeService) Revoke(ctx context.Context, m app.Meta, userID, sessionID, reason string) (app.Revocation, error) {
	if sessionID == f.panicOn {
		panic("boom: SELECT secret FROM keys")
	}
	if f.onRevoke != nil {
		if err := f.onRevoke(ctx); err != nil {
			return app.Revocation{}, err
		}
	}
	sess, _ := domain.RestoreSession([]domain.Event{domain.SessionStarted{SessionID: sessionID, UserID: "u1",
		StartedAt: time.Now(), ExpiresAt: time.Now().Add(time.Hour)}})
	d, err := domain.DecideRevoke(sess, domain.RevokeSession{UserID: userID, SessionID: sessionID, Actor: m.Actor, Reason: reason}, time.Now())
	if err != nil {
		return app.Revocation{}, err
	}
	v := f.session(userID, sessionID)
	v.Status, v.Revoked = domain.StatusRevoked, &domain.Revocation{At: d.Event.RevokedAt, By: m.Actor, Reason: reason}
	return app.Revocation{Session: v}, nil
}

func (f *fakeService) RevokeAll(_ context.Context, _ app.Meta, userID, reason string) ([]app.Session, []app.Event, error) {
	if err := domain.ValidateReason(reason); err != nil {
		return nil, nil, err
	}
	return []app.Session{f.session(userID, "s1")}, nil, nil
}

func (f *fakeService) Get(_ context.Context, userID, sessionID string) (app.Session, []app.Event, error) {
	return f.session(userID, sessionID), nil, nil
}

func (f *fakeService) List(_ context.Context, fl app.ListFilter) ([]app.Session, string, error) {
	return []app.Session{f.session(fl.UserID, "s1")}, "", nil
}

func quietLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }
