package projections_test

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/stdlib"

	"github.com/sessiond/sessiond/domain"
	"github.com/sessiond/sessiond/eventstore"
	"github.com/sessiond/sessiond/eventstore/consumer"
	"github.com/sessiond/sessiond/eventstore/pgstore"
	"github.com/sessiond/sessiond/eventstore/sqlitestore"
	"github.com/sessiond/sessiond/internal/pgtest"
	"github.com/sessiond/sessiond/migrations"
	"github.com/sessiond/sessiond/projections"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// model is what both read models answer.
type model interface {
	UserExists(ctx context.Context, userID string) (bool, error)
	Session(ctx context.Context, sessionID string) (*projections.SessionRow, error)
	ListSessions(ctx context.Context, f projections.ListFilter) ([]projections.SessionRow, error)
	ActiveSessionIDs(ctx context.Context, userID string, now time.Time) ([]string, error)
	AdminKeyByHash(ctx context.Context, hash string) (*projections.KeyRow, error)
	AdminKeys(ctx context.Context) ([]projections.KeyRow, error)
}

type appender interface {
	consumer.Source
	Append(ctx context.Context, appends ...eventstore.StreamAppend) ([]eventstore.Recorded, error)
	Head(ctx context.Context) (int64, []byte, error)
}

// eachStore runs fn against the PostgreSQL and the SQLite read model.
func eachStore(t *testing.T, fn func(t *testing.T, s appender, m model)) {
	t.Run("postgres", func(t *testing.T) {
		pool, _ := pgtest.NewPool(t)
		db := stdlib.OpenDBFromPool(pool)
		defer db.Close()
		if _, err := migrations.Up(context.Background(), db, nil); err != nil {
			t.Fatal(err)
		}
		store := pgstore.New(pool, pgstore.Options{Projector: projections.Project})
		t.Cleanup(func() { store.Close() })
		fn(t, store, projections.NewReadModel(pool, pgstore.Classify))
	})
	t.Run("sqlite", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "sessiond.db")
		store, err := sqlitestore.Open(path, sqlitestore.Options{Projector: projections.ProjectSQLite})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { store.Close() })
		if _, err := migrations.UpSQLite(context.Background(), store.DB(), path+".lock", nil); err != nil {
			t.Fatal(err)
		}
		fn(t, store, projections.NewSQLiteReadModel(store.DB(), sqlitestore.Classify))
	})
}

func apply(t *testing.T, s appender, expected int64, e domain.Event) {
	t.Helper()
	typ, data, _ := domain.EncodeEvent(e)
	if _, err := s.Append(context.Background(), eventstore.StreamAppend{StreamID: e.StreamID(), ExpectedVersion: expected,
		Events: []eventstore.Proposed{{Type: typ, Data: data}}}); err != nil {
		t.Fatal(err)
	}
}

func TestReadModel(t *testing.T) { eachStore(t, testReadModel) }

func testReadModel(t *testing.T, s appender, m model) {
	ctx := context.Background()
	now := time.Date(2026, 3, 1, 14, 3, 0, 0, time.UTC)
	actor := domain.Actor{KeyID: "k1", KeyName: "ops"}
	for i := range 5 {
		apply(t, s, 0, domain.SessionStarted{SessionID: fmt.Sprintf("s%d", i), UserID: "u1", StartedAt: now,
			ExpiresAt: now.Add(time.Duration(i+1) * time.Hour), Metadata: []byte(`{"ua":"curl"}`)})
	}
	apply(t, s, 0, domain.SessionStarted{SessionID: "other", UserID: "u2", StartedAt: now, ExpiresAt: now.Add(time.Hour)})
	apply(t, s, 1, domain.SessionRevoked{SessionID: "s1", UserID: "u1", RevokedAt: now.Add(time.Minute), ExpiresAt: now.Add(2 * time.Hour), RevokedBy: actor, Reason: "stolen laptop"})
	apply(t, s, 1, domain.SessionRevoked{SessionID: "s3", UserID: "u1", RevokedAt: now.Add(time.Minute), ExpiresAt: now.Add(4 * time.Hour), RevokedBy: actor})

	for user, want := range map[string]bool{"u1": true, "u2": true, "u3": false} {
		if got, err := m.UserExists(ctx, user); err != nil || got != want {
			t.Errorf("UserExists(%s) = %v, %v; want %v", user, got, err, want)
		}
	}
	row, err := m.Session(ctx, "s1")
	if err != nil || row == nil {
		t.Fatalf("Session(s1) = %v, %v", row, err)
	}
	if row.RevokedAt == nil || *row.RevokedBy != "ops" || *row.RevokedByKeyID != "k1" || *row.Reason != "stolen laptop" || row.Version != 2 {
		t.Errorf("s1 = %+v; want revoked by ops (k1) for 'stolen laptop' at version 2", row)
	}
	if row3, _ := m.Session(ctx, "s3"); row3.Reason != nil {
		t.Errorf("s3 reason = %q, want NULL for an empty reason", *row3.Reason)
	}
	if missing, err := m.Session(ctx, "nope"); err != nil || missing != nil {
		t.Errorf("Session(nope) = %v, %v; want nil, nil", missing, err)
	}
	// At now+90m: s0 expired, s1/s3 revoked, s2/s4 active.
	at := now.Add(90 * time.Minute)
	for status, want := range map[string]string{"active": "s2 s4", "revoked": "s1 s3", "expired": "s0", "all": "s0 s1 s2 s3 s4"} {
		rows, err := m.ListSessions(ctx, projections.ListFilter{UserID: "u1", Status: status, Limit: 100, Now: at})
		if err != nil {
			t.Fatal(err)
		}
		if got := ids(rows); got != want {
			t.Errorf("ListSessions(%s) = %q, want %q", status, got, want)
		}
		for _, r := range rows {
			if status != "all" && string(r.Status(at)) != status {
				t.Errorf("%s listed as %s has status %s", r.SessionID, status, r.Status(at))
			}
		}
	}
	page1, _ := m.ListSessions(ctx, projections.ListFilter{UserID: "u1", Status: "all", Limit: 2, Now: at})
	page2, _ := m.ListSessions(ctx, projections.ListFilter{UserID: "u1", Status: "all", Limit: 2, After: page1[1].SessionID, Now: at})
	if got := ids(page1) + "|" + ids(page2); got != "s0 s1|s2 s3" {
		t.Errorf("pages = %q, want %q", got, "s0 s1|s2 s3")
	}
	active, _ := m.ActiveSessionIDs(ctx, "u1", at)
	if got := strings.Join(active, " "); got != "s2 s4" {
		t.Errorf("ActiveSessionIDs = %q, want %q", got, "s2 s4")
	}
}

func TestReadModelKeys(t *testing.T) { eachStore(t, testReadModelKeys) }

func testReadModelKeys(t *testing.T, s appender, m model) {
	ctx := context.Background()
	now := time.Date(2026, 3, 1, 14, 3, 0, 0, time.UTC)
	hash := strings.Repeat("ab", 32)
	apply(t, s, 0, domain.AdminKeyCreated{KeyID: "k1", Name: "ops", Scopes: []domain.Scope{domain.ScopeSessionsRevoke, domain.ScopeAuditRead}, KeyHash: hash, CreatedAt: now})
	k, err := m.AdminKeyByHash(ctx, hash)
	if err != nil || k == nil || k.KeyID != "k1" || k.Name != "ops" || len(k.Scopes) != 2 || k.Scopes[1] != domain.ScopeAuditRead || k.RevokedAt != nil {
		t.Fatalf("AdminKeyByHash = %+v, %v", k, err)
	}
	apply(t, s, 1, domain.AdminKeyRevoked{KeyID: "k1", RevokedAt: now.Add(time.Hour)})
	if k, _ = m.AdminKeyByHash(ctx, hash); k.RevokedAt == nil || !k.RevokedAt.Equal(now.Add(time.Hour)) {
		t.Errorf("revoked key = %+v; want revoked_at set", k)
	}
	if none, err := m.AdminKeyByHash(ctx, strings.Repeat("cd", 32)); err != nil || none != nil {
		t.Errorf("unknown hash = %v, %v; want nil, nil", none, err)
	}
	all, err := m.AdminKeys(ctx)
	if err != nil || len(all) != 1 {
		t.Errorf("AdminKeys = %d, %v; want 1", len(all), err)
	}
}

func ids(rows []projections.SessionRow) string {
	var out []string
	for _, r := range rows {
		out = append(out, r.SessionID)
	}
	return strings.Join(out, " ")
}
