package bench

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// yardstickTable is shaped like sessiond's events table.
const yardstickTable = `CREATE TABLE bench_events (
    position       bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    stream_id      text        NOT NULL,
    stream_version int         NOT NULL,
    event_id       uuid        NOT NULL UNIQUE,
    type           text        NOT NULL,
    data           jsonb       NOT NULL,
    metadata       jsonb       NOT NULL,
    recorded_at    timestamptz NOT NULL DEFAULT now(),
    prev_hash      bytea       NOT NULL,
    hash           bytea       NOT NULL,
    UNIQUE (stream_id, stream_version))`

// yardstickInsert is pgbench's script in scripts/pgbench-insert.sql: one
// single-row INSERT, committed on its own.
const yardstickInsert = `INSERT INTO bench_events (stream_id, stream_version, event_id, type, data, metadata, prev_hash, hash)
VALUES ('session-' || gen_random_uuid(), 1, gen_random_uuid(), 'SessionRevoked',
        '{"sessionId":"s-1","userId":"u-1","reason":"bench","revokedBy":{"keyId":"k","keyName":"ops"}}',
        '{"requestId":"bench","sourceIp":"127.0.0.1"}',
        sha256(random()::text::bytea), sha256(random()::text::bytea))`

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
	if _, err := pool.Exec(ctx, yardstickTable); err != nil {
		return nil, fmt.Errorf("yardstick: %w", err)
	}
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
	return &Yardstick{Phase: merge("yardstick", time.Since(start), recs), Where: where}, nil
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return s
}
