package app_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/sessiond/sessiond/domain"
	"github.com/sessiond/sessiond/eventstore/sqlitestore"
	"github.com/sessiond/sessiond/internal/app"
	"github.com/sessiond/sessiond/migrations"
	"github.com/sessiond/sessiond/projections"
)

// newService returns a service on a fresh embedded store and the store.
func newService(t *testing.T) (*app.Service, *sqlitestore.Store) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "sessiond.db")
	db, err := sqlitestore.OpenDB(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := migrations.UpSQLite(context.Background(), db, path+".migrate-lock", nil); err != nil {
		t.Fatal(err)
	}
	store := sqlitestore.New(db, sqlitestore.Options{Projector: projections.ProjectSQLite})
	t.Cleanup(func() { store.Close() })
	return app.New(store, projections.NewSQLiteReadModel(db, sqlitestore.Classify), nil, nil), store
}

func wantCode(t *testing.T, what string, err error, want domain.Code) {
	t.Helper()
	if got := domain.ErrorCode(err); err == nil || got != want {
		t.Fatalf("%s: %v (%s); want %s", what, err, got, want)
	}
}

// TestRevokedKeyRefusedAtOnce: the service that revokes a key refuses it
// right after RevokeKey returns, without waiting for any follower.
func TestRevokedKeyRefusedAtOnce(t *testing.T) {
	ctx := context.Background()
	svc, store := newService(t)
	keys := app.NewKeyTable(store, app.KeyTableOptions{Bound: time.Hour})
	if err := keys.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	svc.WithKeys(keys)
	k, secret, err := svc.CreateKey(ctx, app.Meta{}, "ops", domain.AllScopes)
	if err != nil {
		t.Fatal(err)
	}
	if p, err := svc.Authenticate(ctx, secret.String()); err != nil || p.KeyID != k.ID || !p.Can(domain.ScopeAuditRead) {
		t.Fatalf("Authenticate = %+v, %v; want key %s", p, err, k.ID)
	}
	if err := svc.RevokeKey(ctx, app.Meta{}, k.ID); err != nil {
		t.Fatal(err)
	}
	_, err = svc.Authenticate(ctx, secret.String())
	wantCode(t, "Authenticate after RevokeKey", err, domain.CodeAdminSessionInvalid)
}

// TestKeyChangedElsewhere: keys created and revoked by another process
// reach the table from the log: a new key at its first use, a revocation
// at the next sync.
func TestKeyChangedElsewhere(t *testing.T) {
	ctx := context.Background()
	svc, store := newService(t)
	cli := app.New(store, nil, nil, nil) // another process: no key table
	keys := app.NewKeyTable(store, app.KeyTableOptions{Bound: time.Hour})
	if err := keys.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	svc.WithKeys(keys)
	k, secret, err := cli.CreateKey(ctx, app.Meta{}, "ops", domain.AllScopes)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Authenticate(ctx, secret.String()); err != nil {
		t.Fatalf("a key created elsewhere: %v; want it honoured at first use", err)
	}
	if err := cli.RevokeKey(ctx, app.Meta{}, k.ID); err != nil {
		t.Fatal(err)
	}
	if err := keys.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	_, err = svc.Authenticate(ctx, secret.String())
	wantCode(t, "a key revoked elsewhere, after a sync", err, domain.CodeAdminSessionInvalid)

	// Created and revoked elsewhere before this table ever saw it.
	k2, secret2, _ := cli.CreateKey(ctx, app.Meta{}, "gone", domain.AllScopes)
	if err := cli.RevokeKey(ctx, app.Meta{}, k2.ID); err != nil {
		t.Fatal(err)
	}
	_, err = svc.Authenticate(ctx, secret2.String())
	wantCode(t, "a key created and revoked elsewhere", err, domain.CodeAdminSessionInvalid)
}

// TestKeyTableReadiness: the table is not ready, and authenticates
// nothing (UNAVAILABLE), until loaded, and again once it has gone
// longer than its bound without confirming it is current.
func TestKeyTableReadiness(t *testing.T) {
	ctx := context.Background()
	svc, store := newService(t)
	_, secret, err := svc.CreateKey(ctx, app.Meta{}, "ops", domain.AllScopes)
	if err != nil {
		t.Fatal(err)
	}
	keys := app.NewKeyTable(store, app.KeyTableOptions{Bound: time.Hour})
	svc.WithKeys(keys)
	if err := keys.Ready(ctx); err == nil {
		t.Fatal("Ready before the first sync = nil; want an error")
	}
	_, err = svc.Authenticate(ctx, secret.String())
	wantCode(t, "Authenticate before loading", err, domain.CodeUnavailable)
	if err := keys.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if err := keys.Ready(ctx); err != nil {
		t.Fatalf("Ready after Sync = %v", err)
	}
	if _, err := svc.Authenticate(ctx, secret.String()); err != nil {
		t.Fatalf("Authenticate after loading = %v", err)
	}

	stale := app.NewKeyTable(store, app.KeyTableOptions{Bound: time.Nanosecond})
	if err := stale.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	svc.WithKeys(stale)
	if err := stale.Ready(ctx); err == nil {
		t.Fatal("Ready past the bound = nil; want an error")
	}
	_, err = svc.Authenticate(ctx, secret.String())
	wantCode(t, "Authenticate past the bound", err, domain.CodeUnavailable)
}
