package app_test

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
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

// countingLog is an app.Log that counts stream reads and appends.
type countingLog struct {
	app.Log
	streams atomic.Int64
	appends atomic.Int64
}

func (c *countingLog) Append(ctx context.Context, appends ...eventstore.StreamAppend) ([]eventstore.Recorded, error) {
	c.appends.Add(1)
	return c.Log.Append(ctx, appends...)
}

func (c *countingLog) ReadStream(ctx context.Context, streamID string) ([]eventstore.Recorded, error) {
	c.streams.Add(1)
	return c.Log.ReadStream(ctx, streamID)
}

// countingReads is an app.Reads that counts session reads.
type countingReads struct {
	app.Reads
	sessions atomic.Int64
}

func (c *countingReads) Session(ctx context.Context, id string) (*projections.SessionRow, error) {
	c.sessions.Add(1)
	return c.Reads.Session(ctx, id)
}

// backend is a fresh store, its log and read model wrapped to count reads.
type backend struct {
	log   *countingLog
	reads *countingReads
}

// service returns a new service on the backend, as another replica would
// be.
func (b backend) service() *app.Service { return app.New(b.log, b.reads, nil, nil) }

// storeBackends opens a fresh backend on each store.
func storeBackends(t *testing.T) map[string]func(t *testing.T) backend {
	return map[string]func(t *testing.T) backend{
		"sqlite": func(t *testing.T) backend {
			path := filepath.Join(t.TempDir(), "sessiond.db")
			db, err := sqlitestore.OpenDB(path)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := migrations.UpSQLite(context.Background(), db, path+".migrate-lock", nil); err != nil {
				t.Fatal(err)
			}
			store := sqlitestore.New(db, sqlitestore.Options{Projector: projections.ProjectSQLite, Queries: projections.QueriesSQLite})
			t.Cleanup(func() { store.Close() })
			return backend{&countingLog{Log: store}, &countingReads{Reads: projections.NewSQLiteReadModel(db, sqlitestore.Classify)}}
		},
		"postgres": func(t *testing.T) backend {
			pool, _ := pgtest.NewPool(t)
			db := stdlib.OpenDBFromPool(pool)
			defer db.Close()
			if _, err := migrations.Up(context.Background(), db, nil); err != nil {
				t.Fatal(err)
			}
			store := pgstore.New(pool, pgstore.Options{Projector: projections.Project, Queries: projections.Queries})
			t.Cleanup(func() { store.Close() })
			return backend{&countingLog{Log: store}, &countingReads{Reads: projections.NewReadModel(pool, pgstore.Classify)}}
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
			b := open(t)
			svc, log := b.service(), b.log
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

// TestRevokeFromCache: a session this service started is revoked
// without reading anything first (a repeat answers from the read model); a cached state gone stale (another
// replica revoked the session) is caught by the version guard, and the
// answer is the other replica's revocation.
func TestRevokeFromCache(t *testing.T) {
	for name, open := range storeBackends(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			b := open(t)
			one, two := b.service(), b.service()
			ops := app.Meta{Actor: domain.Actor{KeyID: "k1", KeyName: "ops"}}
			exp := time.Now().Add(time.Hour)
			for _, id := range []string{"s-1", "s-2"} {
				if _, _, err := one.Start(ctx, ops, domain.StartSession{UserID: "alice", SessionID: id, ExpiresAt: exp}); err != nil {
					t.Fatal(err)
				}
			}
			before := b.reads.sessions.Load()
			gen, _, err := one.Start(ctx, ops, domain.StartSession{UserID: "alice", ExpiresAt: exp})
			if err != nil {
				t.Fatal(err)
			}
			if got := b.reads.sessions.Load() - before; got != 0 {
				t.Errorf("starting a session with a generated id read the read model %d times, want 0", got)
			}
			for _, id := range []string{"s-1", gen.SessionID} {
				if _, err := one.Revoke(ctx, ops, "alice", id, "stolen"); err != nil {
					t.Fatal(err)
				}
			}
			if got := b.reads.sessions.Load() - before; got != 0 {
				t.Errorf("revoking sessions this service started read the read model %d times, want 0", got)
			}
			if again, err := one.Revoke(ctx, ops, "alice", "s-1", "again"); err != nil || !again.AlreadyRevoked || again.Original == nil {
				t.Fatalf("revoking s-1 again: %+v, %v; want alreadyRevoked with the original", again, err)
			}
			// A session with large metadata is not remembered: read once.
			big := json.RawMessage(`{"pad":"` + strings.Repeat("x", 2000) + `"}`)
			if _, _, err := one.Start(ctx, ops, domain.StartSession{UserID: "alice", SessionID: "s-big", ExpiresAt: exp, Metadata: big}); err != nil {
				t.Fatal(err)
			}
			reads := b.reads.sessions.Load()
			if _, err := one.Revoke(ctx, ops, "alice", "s-big", "stolen"); err != nil {
				t.Fatal(err)
			}
			if got := b.reads.sessions.Load() - reads; got != 1 {
				t.Errorf("revoking a session with 2 KB of metadata read the read model %d times, want 1", got)
			}

			other := app.Meta{Actor: domain.Actor{KeyID: "k2", KeyName: "sec"}}
			first, err := two.Revoke(ctx, other, "alice", "s-2", "by the other replica")
			if err != nil || first.AlreadyRevoked {
				t.Fatalf("revoke on the other replica: %+v, %v", first, err)
			}
			res, err := one.Revoke(ctx, ops, "alice", "s-2", "stale")
			if err != nil {
				t.Fatalf("revoke from a stale cache: %v", err)
			}
			if !res.AlreadyRevoked || res.Original == nil || res.Original.EventID != first.Event.EventID {
				t.Fatalf("revoke from a stale cache: %+v; want alreadyRevoked with the other replica's event", res)
			}
			if got, want := res.Session.Revoked.Reason, "by the other replica"; got != want {
				t.Errorf("reason = %q, want %q", got, want)
			}
			n := 0
			recs, err := b.log.ReadStream(ctx, domain.SessionStream("s-2"))
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range recs {
				if r.Type == domain.TypeSessionRevoked {
					n++
				}
			}
			if n != 1 {
				t.Errorf("%d SessionRevoked in the stream, want 1", n)
			}
		})
	}
}

// TestRevokedLeavesCache: sessions revoked by this service, one at a time
// with an Idempotency-Key or all of a user's at once, leave the cache, so
// revoking them again appends nothing (a stale entry would cost an append
// refused by the version guard).
func TestRevokedLeavesCache(t *testing.T) {
	for name, open := range storeBackends(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			b := open(t)
			svc := b.service()
			ops := app.Meta{Actor: domain.Actor{KeyID: "k1", KeyName: "ops"}}
			exp := time.Now().Add(time.Hour)
			for _, id := range []string{"s-1", "s-2", "s-3"} {
				if _, _, err := svc.Start(ctx, ops, domain.StartSession{UserID: "alice", SessionID: id, ExpiresAt: exp}); err != nil {
					t.Fatal(err)
				}
			}
			keyed := ops
			keyed.Idempotency = &app.Idempotency{Key: "k-1", Request: "f-1"}
			if _, err := svc.Revoke(ctx, keyed, "alice", "s-1", "stolen"); err != nil {
				t.Fatal(err)
			}
			if _, _, err := svc.RevokeAll(ctx, ops, "alice", "offboarded"); err != nil {
				t.Fatal(err)
			}
			before := b.log.appends.Load()
			for _, id := range []string{"s-1", "s-2", "s-3"} {
				res, err := svc.Revoke(ctx, ops, "alice", id, "again")
				if err != nil || !res.AlreadyRevoked {
					t.Fatalf("revoking %s again: %+v, %v; want alreadyRevoked", id, res, err)
				}
			}
			if got := b.log.appends.Load() - before; got != 0 {
				t.Errorf("revoking revoked sessions again tried %d appends, want 0", got)
			}
		})
	}
}
