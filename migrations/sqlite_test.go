package migrations_test

import (
	"context"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/sessiond/sessiond/eventstore/sqlitestore"
	"github.com/sessiond/sessiond/migrations"
)

// TestUpSQLiteRace: several processes (each its own pool) migrating one
// fresh file at once all succeed, and every migration is applied once.
func TestUpSQLiteRace(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sessiond.db")
	lock := path + ".migrate-lock"
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	const n = 6
	var wg sync.WaitGroup
	applied := make([][]int64, n)
	errs := make([]error, n)
	start := make(chan struct{})
	for i := range n {
		db, err := sqlitestore.OpenDB(path)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			applied[i], errs[i] = migrations.UpSQLite(ctx, db, lock, nil)
		}()
	}
	db, err := sqlitestore.OpenDB(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if pending, err := migrations.PendingSQLite(ctx, db); err != nil || !pending {
		t.Fatalf("PendingSQLite on a fresh file = %v, %v; want true", pending, err)
	}
	close(start)
	wg.Wait()
	wantAppliedOnce(t, ctx, db, applied, errs)
	if pending, err := migrations.PendingSQLite(ctx, db); err != nil || pending {
		t.Errorf("PendingSQLite = %v, %v after Up; want false", pending, err)
	}
}
