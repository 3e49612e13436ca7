package app_test

import (
	"context"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/stdlib"

	"github.com/sessiond/sessiond/domain"
	"github.com/sessiond/sessiond/eventstore"
	"github.com/sessiond/sessiond/eventstore/pgstore"
	"github.com/sessiond/sessiond/eventstore/sqlitestore"
	"github.com/sessiond/sessiond/internal/app"
	"github.com/sessiond/sessiond/internal/pgtest"
	"github.com/sessiond/sessiond/migrations"
	"github.com/sessiond/sessiond/projections"
)

// countingLog is an app.Log that counts stream reads.
type countingLog struct {
	app.Log
	streams atomic.Int64
}

func (c *countingLog) ReadStream(ctx context.Context, streamID string) ([]eventstore.Recorded, error) {
	c.streams.Add(1)
	return c.Log.ReadStream(ctx, streamID)
}

// storeBackends opens a fresh service on each store, its log wrapped to
// count stream reads.
func storeBackends(t *testing.T) map[string]func(t *testing.T) (*app.Service, *countingLog) {
	return map[string]func(t *testing.T) (*app.Service, *countingLog){
		"sqlite": func(t *testing.T) (*app.Service, *countingLog) {
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
			log := &countingLog{Log: store}
			return app.New(log, projections.NewSQLiteReadModel(db, sqlitestore.Classify), nil, nil), log
		},
		"postgres": func(t *testing.T) (*app.Service, *countingLog) {
			pool, _ := pgtest.NewPool(t)
			db := stdlib.OpenDBFromPool(pool)
			defer db.Close()
			if _, err := migrations.Up(context.Background(), db, nil); err != nil {
				t.Fatal(err)
			}
			store := pgstore.New(pool, pgstore.Options{Projector: projections.Project})
			t.Cleanup(func() { store.Close() })
			log := &countingLog{Log: store}
			return app.New(log, projections.NewReadModel(pool, pgstore.Classify), nil, nil), log
		},
	}
}

// TestRevokeDecidesWithoutStream: starting a session and revoking it, and
// the 404s, decide from the read model; no stream is read. A stale
// decision is caught by the version guard: a revoke racing another still
// records exactly one SessionRevoked.
func TestRevokeDecidesWithoutStream(t *testing.T) {
	for name, open := range storeBackends(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			svc, log := open(t)
			ops := app.Meta{Actor: domain.Actor{KeyID: "k1", KeyName: "ops"}}
			exp := time.Now().Add(time.Hour)
			if _, created, err := svc.Start(ctx, ops, domain.StartSession{UserID: "alice", SessionID: "s-1", ExpiresAt: exp}); err != nil || !created {
				t.Fatalf("start: created %v, %v", created, err)
			}
			res, err := svc.Revoke(ctx, ops, "alice", "s-1", "stolen")
			if err != nil || res.AlreadyRevoked || res.Event == nil {
				t.Fatalf("revoke: %+v, %v", res, err)
			}
			if got, want := res.Session.Status, domain.StatusRevoked; got != want {
				t.Errorf("status = %s, want %s", got, want)
			}
			_, err = svc.Revoke(ctx, ops, "bob", "s-1", "")
			wantCode(t, "another user's session", err, domain.CodeUserNotFound)
			_, err = svc.Revoke(ctx, ops, "alice", "s-2", "")
			wantCode(t, "unknown session", err, domain.CodeSessionNotFound)
			if got := log.streams.Load(); got != 0 {
				t.Errorf("start, revoke and the 404s read %d streams, want 0", got)
			}

			again, err := svc.Revoke(ctx, ops, "alice", "s-1", "again")
			if err != nil || !again.AlreadyRevoked || again.Original == nil || again.Original.EventID != res.Event.EventID {
				t.Fatalf("second revoke: %+v, %v; want alreadyRevoked with the original event", again, err)
			}
			if got, want := again.Session.Revoked.Reason, "stolen"; got != want {
				t.Errorf("replayed reason = %q, want %q", got, want)
			}

			// Two revokes of one session at once: one records, the other
			// finds it revoked (directly or after a conflict and a retry).
			if _, _, err := svc.Start(ctx, ops, domain.StartSession{UserID: "alice", SessionID: "s-3", ExpiresAt: exp}); err != nil {
				t.Fatal(err)
			}
			errs := make(chan error, 2)
			fresh := make(chan bool, 2)
			for range 2 {
				go func() {
					r, err := svc.Revoke(ctx, ops, "alice", "s-3", "race")
					fresh <- err == nil && !r.AlreadyRevoked
					errs <- err
				}()
			}
			n := 0
			for range 2 {
				if err := <-errs; err != nil {
					t.Fatal(err)
				}
				if <-fresh {
					n++
				}
			}
			if n != 1 {
				t.Errorf("%d revokes recorded, want exactly 1", n)
			}
		})
	}
}
