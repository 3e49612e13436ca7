package pgstore_test

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/sessiond/sessiond/eventstore"
	"github.com/sessiond/sessiond/eventstore/pgstore"
	"github.com/sessiond/sessiond/internal/pgtest"
	"github.com/sessiond/sessiond/internal/storetest"
	"github.com/sessiond/sessiond/migrations"
	"github.com/sessiond/sessiond/projections"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) storetest.Harness {
		pool, store, commits := mustOpenStore(t)
		second := pgstore.New(pool, pgstore.Options{Projector: projections.Project, Queries: projections.Queries})
		t.Cleanup(func() { second.Close() })
		return storetest.Harness{
			Second:        second,
			Store:         store,
			Tamper:        tamperer{pool},
			DumpReadModel: func(t testing.TB) string { return dump(t, pool) },
			Commits:       commits.Load,
			Reads:         projections.NewReadModel(pool, pgstore.Classify),
		}
	})
}

// mustOpenStore returns a migrated store on a fresh database.
func mustOpenStore(tb testing.TB) (*pgxpool.Pool, *pgstore.Store, *atomic.Int64) {
	tb.Helper()
	pool, _ := pgtest.NewPool(tb)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	db := stdlib.OpenDBFromPool(pool)
	defer db.Close()
	if _, err := migrations.Up(ctx, db, nil); err != nil {
		tb.Fatalf("migrate: %v", err)
	}
	var commits atomic.Int64
	store := pgstore.New(pool, pgstore.Options{
		Projector: projections.Project,
		Queries:   projections.Queries,
		Observe:   func(int, time.Duration) { commits.Add(1) },
	})
	tb.Cleanup(func() { store.Close() })
	return pool, store, &commits
}

func dump(tb testing.TB, pool *pgxpool.Pool) string {
	tb.Helper()
	var b strings.Builder
	for _, table := range projections.Tables {
		rows, err := pool.Query(context.Background(),
			fmt.Sprintf(`SELECT row_to_json(t)::text FROM %s t ORDER BY 1`, pgx.Identifier{table}.Sanitize()))
		if err != nil {
			tb.Fatal(err)
		}
		lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			tb.Fatal(err)
		}
		fmt.Fprintf(&b, "%s (%d rows)\n%s\n", table, len(lines), strings.Join(lines, "\n"))
	}
	return b.String()
}

// tamperer edits events as a superuser with triggers disabled.
type tamperer struct{ pool *pgxpool.Pool }

func (tp tamperer) unguarded(tb testing.TB, sql string, args ...any) {
	tb.Helper()
	ctx := context.Background()
	tx, err := tp.pool.Begin(ctx)
	if err != nil {
		tb.Fatal(err)
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, `SET LOCAL session_replication_role = replica`); err != nil {
		tb.Fatal(err)
	}
	if _, err := tx.Exec(ctx, sql, args...); err != nil {
		tb.Fatalf("tamper: %v", err)
	}
	if err := tx.Commit(ctx); err != nil {
		tb.Fatal(err)
	}
}

func (tp tamperer) SetData(tb testing.TB, pos int64, data string) {
	tp.unguarded(tb, `UPDATE events SET data = $2::jsonb WHERE position = $1`, pos, data)
}

func (tp tamperer) Delete(tb testing.TB, pos int64) {
	tp.unguarded(tb, `DELETE FROM events WHERE position = $1`, pos)
}

func (tp tamperer) Insert(tb testing.TB, r eventstore.Recorded) {
	tp.unguarded(tb, `INSERT INTO events (position, stream_id, stream_version, event_id, type, data, metadata, recorded_at, prev_hash, hash)
VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7::jsonb, $8, $9, $10)`,
		r.Position, r.StreamID, r.StreamVersion, pgtype.UUID{Bytes: r.EventID, Valid: true}, r.Type,
		string(r.Data), string(r.Metadata), r.RecordedAt, r.PrevHash, r.Hash)
}

func (tp tamperer) Swap(tb testing.TB, a, b int64) {
	const off = 1_000_000_000
	tp.unguarded(tb, `UPDATE events SET position = position + $3::bigint WHERE position IN ($1::bigint, $2::bigint)`, a, b, off)
	tp.unguarded(tb, `UPDATE events SET position = CASE WHEN position = $1::bigint + $3::bigint THEN $2::bigint ELSE $1::bigint END
WHERE position IN ($1::bigint + $3::bigint, $2::bigint + $3::bigint)`, a, b, off)
}

func (tp tamperer) TryUpdate(tb testing.TB, pos int64) error {
	_, err := tp.pool.Exec(context.Background(), `UPDATE events SET type = 'Tampered' WHERE position = $1`, pos)
	return wantAppendOnly(tb, err)
}

func (tp tamperer) TryDelete(tb testing.TB, pos int64) error {
	_, err := tp.pool.Exec(context.Background(), `DELETE FROM events WHERE position = $1`, pos)
	return wantAppendOnly(tb, err)
}

func (tp tamperer) TryTruncate(tb testing.TB) error {
	_, err := tp.pool.Exec(context.Background(), `TRUNCATE events`)
	return wantAppendOnly(tb, err)
}

// wantAppendOnly checks that a refusal came from the events trigger.
func wantAppendOnly(tb testing.TB, err error) error {
	tb.Helper()
	if err != nil && !pgstore.IsAppendOnlyViolation(err) {
		tb.Errorf("change refused for another reason: %v", err)
	}
	return err
}
