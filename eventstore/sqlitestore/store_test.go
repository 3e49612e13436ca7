package sqlitestore_test

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sessiond/sessiond/eventstore"
	"github.com/sessiond/sessiond/eventstore/sqlitestore"
	"github.com/sessiond/sessiond/internal/storetest"
	"github.com/sessiond/sessiond/migrations"
	"github.com/sessiond/sessiond/projections"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) storetest.Harness {
		path, store, commits := mustOpenStore(t)
		second, err := sqlitestore.Open(path, sqlitestore.Options{Projector: projections.ProjectSQLite, Queries: projections.QueriesSQLite})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { second.Close() })
		return storetest.Harness{
			Second:        second,
			Store:         store,
			Tamper:        tamperer{store.DB()},
			DumpReadModel: func(t testing.TB) string { return dump(t, store.DB()) },
			Commits:       commits.Load,
			Reads:         projections.NewSQLiteReadModel(store.DB(), sqlitestore.Classify),
		}
	})
}

// mustOpenStore returns a migrated store on a fresh file.
func mustOpenStore(tb testing.TB) (string, *sqlitestore.Store, *atomic.Int64) {
	tb.Helper()
	path := filepath.Join(tb.TempDir(), "sessiond.db")
	var commits atomic.Int64
	store, err := sqlitestore.Open(path, sqlitestore.Options{
		Projector: projections.ProjectSQLite,
		Queries:   projections.QueriesSQLite,
		Observe:   func(int, time.Duration) { commits.Add(1) },
	})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { store.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := migrations.UpSQLite(ctx, store.DB(), path+".migrate-lock", nil); err != nil {
		tb.Fatalf("migrate: %v", err)
	}
	return path, store, &commits
}

// dump renders every read-model table, rows sorted.
func dump(tb testing.TB, db *sql.DB) string {
	tb.Helper()
	var b strings.Builder
	for _, table := range projections.Tables {
		rows, err := db.Query(`SELECT * FROM "` + table + `"`)
		if err != nil {
			tb.Fatal(err)
		}
		cols, _ := rows.Columns()
		var lines []string
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				tb.Fatal(err)
			}
			var parts []string
			for i, c := range cols {
				v := vals[i]
				if bs, ok := v.([]byte); ok {
					v = string(bs)
				}
				parts = append(parts, fmt.Sprintf("%s=%v", c, v))
			}
			lines = append(lines, strings.Join(parts, " "))
		}
		rows.Close()
		sort.Strings(lines)
		fmt.Fprintf(&b, "%s (%d rows)\n%s\n", table, len(lines), strings.Join(lines, "\n"))
	}
	return b.String()
}

// tamperer edits events with the append-only triggers dropped, as someone
// with write access to the file could.
type tamperer struct{ db *sql.DB }

func (tp tamperer) unguarded(tb testing.TB, stmts ...string) {
	tb.Helper()
	conn, err := tp.db.Conn(context.Background())
	if err != nil {
		tb.Fatal(err)
	}
	defer conn.Close()
	ctx := context.Background()
	rows, err := conn.QueryContext(ctx, `SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'events'`)
	if err != nil {
		tb.Fatal(err)
	}
	var names, defs []string
	for rows.Next() {
		var n, d string
		rows.Scan(&n, &d)
		names, defs = append(names, n), append(defs, d)
	}
	rows.Close()
	if len(names) == 0 {
		tb.Fatal("no append-only triggers to lift")
	}
	exec := func(q string) {
		if _, err := conn.ExecContext(ctx, q); err != nil {
			tb.Fatalf("tamper %q: %v", q, err)
		}
	}
	exec(`BEGIN IMMEDIATE`)
	for _, n := range names {
		exec(`DROP TRIGGER "` + n + `"`)
	}
	for _, q := range stmts {
		exec(q)
	}
	for _, d := range defs {
		exec(d)
	}
	exec(`COMMIT`)
}

func (tp tamperer) SetData(tb testing.TB, pos int64, data string) {
	tp.unguarded(tb, fmt.Sprintf(`UPDATE events SET data = '%s' WHERE position = %d`, strings.ReplaceAll(data, "'", "''"), pos))
}

func (tp tamperer) Delete(tb testing.TB, pos int64) {
	tp.unguarded(tb, fmt.Sprintf(`DELETE FROM events WHERE position = %d`, pos))
}

func (tp tamperer) Insert(tb testing.TB, r eventstore.Recorded) {
	q := fmt.Sprintf(`INSERT INTO events VALUES (%d, '%s', %d, '%s', '%s', '%s', '%s', '%s', x'%x', x'%x')`,
		r.Position, r.StreamID, r.StreamVersion, r.EventID, r.Type, r.Data, r.Metadata,
		r.RecordedAt.UTC().Format(eventstore.TimeFormat), r.PrevHash, r.Hash)
	tp.unguarded(tb, q)
}

func (tp tamperer) Swap(tb testing.TB, a, b int64) {
	const off = 1_000_000_000
	tp.unguarded(tb,
		fmt.Sprintf(`UPDATE events SET position = position + %d WHERE position IN (%d, %d)`, off, a, b),
		fmt.Sprintf(`UPDATE events SET position = CASE WHEN position = %d THEN %d ELSE %d END WHERE position IN (%d, %d)`,
			a+off, b, a, a+off, b+off))
}

func (tp tamperer) TryUpdate(tb testing.TB, pos int64) error {
	_, err := tp.db.Exec(`UPDATE events SET type = 'Tampered' WHERE position = ?`, pos)
	return wantAppendOnly(tb, err)
}

func (tp tamperer) TryDelete(tb testing.TB, pos int64) error {
	_, err := tp.db.Exec(`DELETE FROM events WHERE position = ?`, pos)
	return wantAppendOnly(tb, err)
}

// TryTruncate is SQLite's truncate: a DELETE without WHERE.
func (tp tamperer) TryTruncate(tb testing.TB) error {
	_, err := tp.db.Exec(`DELETE FROM events`)
	return wantAppendOnly(tb, err)
}

func wantAppendOnly(tb testing.TB, err error) error {
	tb.Helper()
	if err != nil && !sqlitestore.IsAppendOnlyViolation(err) {
		tb.Errorf("change refused for another reason: %v", err)
	}
	return err
}
