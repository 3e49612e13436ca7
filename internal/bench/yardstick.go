package bench

import (
	"context"
	_ "embed"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// The yardstick's table, shaped like sessiond's events table, and its one
// statement: the very files scripts/pgbench.sh hands to pgbench, so both
// measure the same thing.
var (
	//go:embed yardstick-setup.sql
	yardstickTable string
	//go:embed yardstick-insert.sql
	yardstickInsert string
)

// Yardstick is what the INSERT baseline achieved.
type Yardstick struct {
	Phase *Phase
	Where string // "scratch database sessiond_bench_…" or "schema …"
}

// runYardstick runs the INSERT with clients connections for d, in a
// scratch database it creates and drops (or, without CREATEDB, a scratch
// schema in the target database).
func runYardstick(ctx context.Context, url string, clients int, d time.Duration) (*Yardstick, error) {
	admin, err := pgx.Connect(ctx, url)
	if err != nil {
		return nil, fmt.Errorf("yardstick: connect --database-url: %w", err)
	}
	defer admin.Close(context.Background())
	name := fmt.Sprintf("sessiond_bench_%d", time.Now().UnixNano())
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, err
	}
	where := "scratch database " + name
	cleanup := func() {}
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+name); err == nil {
		cfg.ConnConfig.Database = name
		cleanup = func() {
			_, _ = admin.Exec(context.Background(), "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
		}
	} else {
		// No CREATEDB: a scratch schema in the same database.
		if _, err := admin.Exec(ctx, "CREATE SCHEMA "+name); err != nil {
			return nil, fmt.Errorf("yardstick: neither a scratch database nor a schema can be created: %w", err)
		}
		where = "scratch schema " + name
		cfg.ConnConfig.RuntimeParams["search_path"] = name
		cleanup = func() { _, _ = admin.Exec(context.Background(), "DROP SCHEMA "+name+" CASCADE") }
	}
	defer cleanup()
	cfg.MaxConns = int32(clients)
	cfg.MinConns = int32(clients)
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, err
	}
	defer pool.Close()
	// Two statements (drop, create): the simple protocol takes both.
	if _, err := pool.Exec(ctx, yardstickTable, pgx.QueryExecModeSimpleProtocol); err != nil {
		return nil, fmt.Errorf("yardstick: %w", err)
	}
	cpu := startCPU()
	start := time.Now()
	end := start.Add(d)
	recs := make([]*recorder, clients)
	var wg sync.WaitGroup
	for w := range clients {
		recs[w] = newRecorder(start)
		wg.Add(1)
		go func(r *recorder) {
			defer wg.Done()
			conn, err := pool.Acquire(ctx)
			if err != nil {
				r.fail("connect")
				return
			}
			defer conn.Release()
			for time.Now().Before(end) && ctx.Err() == nil {
				began := time.Now()
				if _, err := conn.Exec(ctx, yardstickInsert); err != nil {
					r.fail(firstLine(err.Error()))
					continue
				}
				r.ok(began, time.Now())
			}
		}(recs[w])
	}
	wg.Wait()
	p := merge("yardstick", time.Since(start), recs)
	p.CPU = cpu.stop()
	return &Yardstick{Phase: p, Where: where}, nil
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return s
}
