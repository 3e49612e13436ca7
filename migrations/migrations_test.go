package migrations_test

import (
	"context"
	"database/sql"
	"sync"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx"

	"github.com/sessiond/sessiond/internal/pgtest"
	"github.com/sessiond/sessiond/migrations"
)

func openDB(t *testing.T, url string) *sql.DB {
	t.Helper()
	db, err := sql.Open("pgx", url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// TestUpRace: several processes migrating one fresh database at once each
// succeed, and every migration is applied exactly once.
func TestUpRace(t *testing.T) {
	url := pgtest.NewDatabase(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	const n = 6
	var wg sync.WaitGroup
	applied := make([][]int64, n)
	errs := make([]error, n)
	start := make(chan struct{})
	for i := range n {
		db := openDB(t, url) // one pool per "process"
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			applied[i], errs[i] = migrations.Up(ctx, db, nil)
		}()
	}
	close(start)
	wg.Wait()

	db := openDB(t, url)
	wantAppliedOnce(t, ctx, db, applied, errs)
	pending, err := migrations.Pending(ctx, db)
	if err != nil || pending {
		t.Errorf("Pending = %v, %v after Up; want false", pending, err)
	}
	// Up again is a no-op.
	if again, err := migrations.Up(ctx, db, nil); err != nil || len(again) != 0 {
		t.Errorf("second Up applied %v, %v; want nothing", again, err)
	}
}

func TestPendingOnFreshDatabase(t *testing.T) {
	db := openDB(t, pgtest.NewDatabase(t))
	pending, err := migrations.Pending(context.Background(), db)
	if err != nil || !pending {
		t.Fatalf("Pending = %v, %v on an empty database; want true", pending, err)
	}
}

// wantAppliedOnce checks that concurrent migrators all succeeded and
// applied every migration exactly once between them.
func wantAppliedOnce(t *testing.T, ctx context.Context, db *sql.DB, applied [][]int64, errs []error) {
	t.Helper()
	total := 0
	for i, err := range errs {
		if err != nil {
			t.Errorf("migrator %d: %v", i, err)
		}
		total += len(applied[i])
	}
	var versions, distinct int
	if err := db.QueryRowContext(ctx, `SELECT count(*), count(DISTINCT version_id) FROM goose_db_version WHERE version_id > 0`).Scan(&versions, &distinct); err != nil {
		t.Fatal(err)
	}
	if versions != distinct || total != distinct || distinct < 2 {
		t.Errorf("applied %d migrations in all, table records %d (%d distinct); want each once", total, versions, distinct)
	}
}
