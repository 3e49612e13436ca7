package server

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"runtime/pprof"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sessiond/sessiond/internal/bench"
)

// runBench is `sessiond bench`: a load test of the revoke path, against a
// running sessiond (--target) or one started in this process (--embedded).
func (m *Main) runBench(ctx context.Context, args []string) error {
	var (
		cfg      bench.Config
		embedded bool
		report   string
		yardSecs float64
		cpuProf  string
	)
	if _, err := m.flags("bench", "sessiond bench [--target URL --key KEY | --embedded] [--clients N] [--sessions N] [--rate R] [--verifiers N] [--report FILE.html]", args, func(fs *flag.FlagSet) {
		fs.StringVar(&cfg.Target, "target", "", "base URL of a running sessiond (needs --key)")
		fs.StringVar(&cfg.Key, "key", "", "admin key with sessions:write and sessions:revoke, for --target")
		fs.BoolVar(&embedded, "embedded", false, "start a sessiond in this process: on a scratch database of --database-url, or on SQLite in a temp dir")
		fs.IntVar(&cfg.Clients, "clients", 8, "concurrent HTTP clients")
		fs.IntVar(&cfg.Sessions, "sessions", 10000, "sessions to start, then revoke")
		fs.Float64Var(&cfg.Rate, "rate", 0, "revocations a second across all clients; 0 is full speed")
		fs.IntVar(&cfg.Verifiers, "verifiers", 1, "verifiers following NATS (with --target: at --nats-url)")
		fs.StringVar(&report, "report", "", "write a self-contained HTML report with plots to this file")
		fs.Float64Var(&yardSecs, "yardstick-seconds", 10, "how long the INSERT yardstick runs (with --database-url)")
		fs.StringVar(&cpuProf, "cpuprofile", "", "write a CPU profile of this process (with --embedded: server and load generator) to this file")
	}); err != nil {
		return err
	}
	if embedded == (cfg.Target != "") {
		return &ExitError{Code: 2, Err: fmt.Errorf("give either --target URL (with --key) or --embedded")}
	}
	cfg.DatabaseURL = m.Config.DatabaseURL
	cfg.NATSURL = m.Config.NATSURL
	cfg.YardstickTime = time.Duration(yardSecs * float64(time.Second))
	cfg.Store = "as configured at the target"
	if cpuProf != "" {
		stop, err := startCPUProfile(cpuProf)
		if err != nil {
			return err
		}
		defer stop()
	}
	if embedded {
		stop, err := m.benchServer(ctx, &cfg)
		if err != nil {
			return err
		}
		defer stop()
	}
	res, err := bench.Run(ctx, cfg, func(line string) { fmt.Fprintln(m.Stderr, "bench:", line) })
	if res != nil && res.Start != nil {
		res.WriteTable(m.Stdout)
	}
	if err != nil {
		return err
	}
	if report != "" {
		var page bytes.Buffer
		if err := res.WriteReport(&page); err != nil {
			return fmt.Errorf("--report %s: %w", report, err)
		}
		if err := os.WriteFile(report, page.Bytes(), 0o644); err != nil {
			return fmt.Errorf("--report: %w", err)
		}
		fmt.Fprintln(m.Stderr, "bench: report written to", report)
	}
	return nil
}

// startCPUProfile profiles this process's CPU into path until the
// returned func is called.
func startCPUProfile(path string) (func(), error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("--cpuprofile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("--cpuprofile: %w", err)
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}, nil
}

// benchServer starts a sessiond in this process for --embedded: on a
// scratch database of --database-url (created and dropped here), or on
// SQLite in a temp dir; NATS embedded on a free port. It creates an admin
// key before the server starts and fills in cfg's target, key and NATS.
func (m *Main) benchServer(ctx context.Context, cfg *bench.Config) (stop func(), err error) {
	dir, err := os.MkdirTemp("", "sessiond-bench-")
	if err != nil {
		return nil, err
	}
	cleanup := []func(){func() { os.RemoveAll(dir) }}
	stop = func() {
		for i := len(cleanup) - 1; i >= 0; i-- {
			cleanup[i]()
		}
	}
	vars := map[string]string{"SESSIOND_DATA_DIR": filepath.Join(dir, "data"), "SESSIOND_NATS_LISTEN": "127.0.0.1:0",
		"SESSIOND_HTTP_ADDR": "127.0.0.1:0", "SESSIOND_LOG_LEVEL": "warn",
		"SESSIOND_KEY_RATE": "0"} // the load generator is one admin key: no per-key limit
	cfg.Store = "SQLite (embedded)"
	if cfg.DatabaseURL != "" {
		scratch, drop, err := scratchDatabase(ctx, cfg.DatabaseURL)
		if err != nil {
			stop()
			return nil, err
		}
		cleanup = append(cleanup, drop)
		vars["DATABASE_URL"] = scratch
		cfg.Store = "PostgreSQL (scratch database)"
	}
	getenv := func(k string) string { return vars[k] }
	var keyOut strings.Builder
	cli := &Main{Stdout: &keyOut, Stderr: io.Discard, Getenv: getenv, Logger: slog.New(slog.DiscardHandler)}
	if err := cli.Run(ctx, []string{"keys", "create", "--name", "bench", "--scopes", "sessions:write,sessions:revoke"}); err != nil {
		stop()
		return nil, fmt.Errorf("bench key: %w", err)
	}
	lines := strings.Split(strings.TrimSpace(keyOut.String()), "\n")
	srv := &Main{Stdout: io.Discard, Stderr: m.Stderr, Getenv: getenv}
	if err := srv.Start(ctx, nil); err != nil {
		stop()
		return nil, fmt.Errorf("bench server: %w", err)
	}
	cleanup = append(cleanup, func() { srv.Close() })
	cfg.Target = "http://" + srv.Addr()
	cfg.Key = lines[len(lines)-1]
	cfg.NATSURL = srv.NATSURL()
	return stop, nil
}

// scratchDatabase creates an empty database next to the one url names and
// returns its URL and a function that drops it.
func scratchDatabase(ctx context.Context, dbURL string) (string, func(), error) {
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		return "", nil, fmt.Errorf("--database-url: %w", err)
	}
	name := fmt.Sprintf("sessiond_bench_srv_%d", time.Now().UnixNano())
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		conn.Close(ctx)
		return "", nil, fmt.Errorf("--embedded with --database-url needs CREATEDB for a scratch database: %w", err)
	}
	u, err := url.Parse(dbURL)
	if err != nil {
		conn.Close(ctx)
		return "", nil, err
	}
	u.Path = "/" + name
	drop := func() {
		_, _ = conn.Exec(context.Background(), "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
		conn.Close(context.Background())
	}
	return u.String(), drop, nil
}
