package sqlitestore_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"

	"github.com/sessiond/sessiond/eventstore/sqlitestore"
)

// TestDurabilitySettings: every pooled connection, not just the first,
// runs in WAL mode with synchronous=FULL and a busy timeout, so a returned
// Append is on disk whichever connection committed it.
func TestDurabilitySettings(t *testing.T) {
	db, err := sqlitestore.OpenDB(filepath.Join(t.TempDir(), "s.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	var conns []*sql.Conn
	for range 4 {
		c, err := db.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
	}
	for i, c := range conns {
		var mode string
		var sync, busy, fk int
		for q, dst := range map[string]any{`PRAGMA journal_mode`: &mode, `PRAGMA synchronous`: &sync, `PRAGMA busy_timeout`: &busy, `PRAGMA foreign_keys`: &fk} {
			if err := c.QueryRowContext(ctx, q).Scan(dst); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
		if mode != "wal" || sync != 2 || busy < 1000 || fk != 1 {
			t.Errorf("connection %d: journal_mode=%s synchronous=%d busy_timeout=%d foreign_keys=%d", i, mode, sync, busy, fk)
		}
		c.Close()
	}
}
