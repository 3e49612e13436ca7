package pgtest_test

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sessiond/sessiond/internal/pgtest"
)

// TestCluster: a private cluster keeps committed rows across an immediate
// (crash) restart and a fast one, refuses connections while stopped, and
// serves again on the same URL once started.
func TestCluster(t *testing.T) {
	c := pgtest.StartCluster(t)
	exec := func(sql string) error {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, c.URL())
		if err != nil {
			return err
		}
		defer conn.Close(ctx)
		_, err = conn.Exec(ctx, sql)
		return err
	}
	count := func() int {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, c.URL())
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(ctx)
		var n int
		if err := conn.QueryRow(ctx, `SELECT count(*) FROM t`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if err := exec(`CREATE TABLE t (x int); INSERT INTO t VALUES (1)`); err != nil {
		t.Fatal(err)
	}
	c.Restart(true)
	if got := count(); got != 1 {
		t.Fatalf("after an immediate restart: %d rows, want 1", got)
	}
	if err := exec(`INSERT INTO t VALUES (2)`); err != nil {
		t.Fatal(err)
	}
	c.Stop(false)
	if err := exec(`SELECT 1`); err == nil {
		t.Fatal("connected to a stopped cluster")
	}
	c.Start()
	if got := count(); got != 2 {
		t.Fatalf("after a stop and start: %d rows, want 2", got)
	}
}
