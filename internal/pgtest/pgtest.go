// Package pgtest gives each test its own fresh PostgreSQL database. It is
// for tests only; of this module it imports only internal/freeport.
//
// The server is TEST_DATABASE_URL when set; otherwise a local server on
// 127.0.0.1:5432 or the Debian socket; otherwise a throwaway cluster started
// from the PostgreSQL binaries. If none can be had, tests fail (never skip)
// and say how to provide one.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

var (
	once     sync.Once
	adminURL string
	findErr  error
)

// AdminURL returns the URL of the server's maintenance database, where the
// tests may create databases as a superuser.
func AdminURL(tb testing.TB) string {
	tb.Helper()
	once.Do(func() { adminURL, findErr = findServer() })
	if findErr != nil {
		tb.Fatalf("no PostgreSQL for tests: %v\nSet TEST_DATABASE_URL=postgres://USER@HOST:PORT/postgres to a server where the user may CREATE DATABASE, or install PostgreSQL (its binaries let the tests start a throwaway cluster).", findErr)
	}
	return adminURL
}

// NewDatabase creates a fresh, empty database for tb, drops it when tb
// ends, and returns its URL.
func NewDatabase(tb testing.TB) string {
	tb.Helper()
	admin := AdminURL(tb)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		tb.Fatalf("pgtest: connect %s: %v", redact(admin), err)
	}
	defer conn.Close(ctx)
	name := dbName(tb.Name())
	if _, err := conn.Exec(ctx, `CREATE DATABASE `+pgx.Identifier{name}.Sanitize()); err != nil {
		tb.Fatalf("pgtest: create database: %v", err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, admin)
		if err != nil {
			tb.Errorf("pgtest: drop %s: %v", name, err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, `DROP DATABASE IF EXISTS `+pgx.Identifier{name}.Sanitize()+` WITH (FORCE)`); err != nil {
			tb.Errorf("pgtest: drop %s: %v", name, err)
		}
	})
	u, err := withDatabase(admin, name)
	if err != nil {
		tb.Fatal(err)
	}
	return u
}

// NewPool is NewDatabase plus a pool on it, closed when tb ends.
func NewPool(tb testing.TB) (*pgxpool.Pool, string) {
	tb.Helper()
	u := NewDatabase(tb)
	pool, err := pgxpool.New(context.Background(), u)
	if err != nil {
		tb.Fatalf("pgtest: pool: %v", err)
	}
	tb.Cleanup(pool.Close)
	return pool, u
}

func dbName(test string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(test) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	prefix := b.String()
	if len(prefix) > 40 {
		prefix = prefix[:40]
	}
	var rnd [6]byte
	rand.Read(rnd[:])
	return "t_" + prefix + "_" + hex.EncodeToString(rnd[:])
}

func withDatabase(base, name string) (string, error) {
	u, err := url.Parse(base)
	if err != nil {
		return "", fmt.Errorf("pgtest: parse %s: %w", redact(base), err)
	}
	u.Path = "/" + name
	return u.String(), nil
}

func redact(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "(unparsable url)"
	}
	return u.Redacted()
}

// findServer returns the admin URL of a reachable server.
func findServer() (string, error) {
	if u := os.Getenv("TEST_DATABASE_URL"); u != "" {
		return u, ping(u)
	}
	var errs []string
	if os.Getenv("PGTEST_FORCE_THROWAWAY") == "" {
		for _, u := range []string{
			"postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable",
			"postgres:///postgres?host=/var/run/postgresql&user=postgres",
		} {
			err := ping(u)
			if err == nil {
				return u, nil
			}
			errs = append(errs, err.Error())
		}
	}
	u, err := startThrowaway()
	if err == nil {
		return u, nil
	}
	errs = append(errs, err.Error())
	return "", fmt.Errorf("%s", strings.Join(errs, "; "))
}

func ping(u string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, u)
	if err != nil {
		return fmt.Errorf("%s: %w", redact(u), err)
	}
	return conn.Close(ctx)
}
