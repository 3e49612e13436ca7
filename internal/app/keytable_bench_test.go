package app_test

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/stdlib"

	"github.com/sessiond/sessiond/domain"
	"github.com/sessiond/sessiond/eventstore/pgstore"
	"github.com/sessiond/sessiond/internal/app"
	"github.com/sessiond/sessiond/internal/pgtest"
	"github.com/sessiond/sessiond/migrations"
	"github.com/sessiond/sessiond/projections"
)

// BenchmarkAuthenticate compares the authentication step on PostgreSQL:
// "readmodel" is what it was (hash, then admin_keys by hash, one round
// trip), "keytable" is what it is (hash, then the in-memory table).
func BenchmarkAuthenticate(b *testing.B) {
	ctx := context.Background()
	pool, _ := pgtest.NewPool(b)
	db := stdlib.OpenDBFromPool(pool)
	if _, err := migrations.Up(ctx, db, nil); err != nil {
		b.Fatal(err)
	}
	db.Close()
	store := pgstore.New(pool, pgstore.Options{Projector: projections.Project})
	b.Cleanup(func() { store.Close() })
	reads := projections.NewReadModel(pool, pgstore.Classify)
	svc := app.New(store, reads, nil, nil)
	keys := app.NewKeyTable(store, app.KeyTableOptions{Bound: time.Hour})
	if err := keys.Sync(ctx); err != nil {
		b.Fatal(err)
	}
	svc.WithKeys(keys)
	_, secret, err := svc.CreateKey(ctx, app.Meta{}, "ops", domain.AllScopes)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("readmodel", func(b *testing.B) {
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if row, err := reads.AdminKeyByHash(ctx, app.HashSecret(secret.String())); err != nil || row == nil {
					b.Fatal(row, err)
				}
			}
		})
	})
	b.Run("keytable", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := svc.Authenticate(ctx, secret.String()); err != nil {
					b.Fatal(err)
				}
			}
		})
	})
}
