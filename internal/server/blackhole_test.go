package server_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sessiond/sessiond/internal/netfault"
	"github.com/sessiond/sessiond/internal/pgtest"
	"github.com/sessiond/sessiond/internal/waitfor"
)

// TestPostgresBlackhole: when PostgreSQL accepts connections but never
// answers, admin requests — their key lookup included — answer 503 once
// the request deadline passes instead of hanging; service resumes when the
// network heals.
func TestPostgresBlackhole(t *testing.T) {
	direct := pgtest.NewDatabase(t)
	u, _ := url.Parse(direct)
	p, err := netfault.Start(u.Host)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	u.Host = p.Addr()
	pool, err := pgxpool.New(context.Background(), direct)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	s := startServerOn(t, pool, u.String(), "SESSIOND_REQUEST_TIMEOUT", "1s")
	t.Cleanup(p.Heal) // before the server closes (cleanups run last first)
	key := s.key("ops")
	s.start(key, "alice", "s-1")

	// Warm the pool: the requests below then find idle connections that
	// were used a moment ago (pgxpool pings only those idle over a
	// second), as on a busy server, instead of dialling new ones, which
	// the 3 s connect timeout would bound anyway.
	var wg sync.WaitGroup
	for range 12 {
		wg.Add(1)
		go func() { defer wg.Done(); s.do("GET", "/auth/admin/api/users/alice/sessions", key, "") }()
	}
	wg.Wait()
	p.Blackhole()
	for _, req := range []struct{ method, path string }{
		{"DELETE", "/auth/admin/api/users/alice/sessions/s-1"},
		{"GET", "/auth/admin/api/users/alice/sessions"},
	} {
		// The client's own timeout only guards against a hang; the server
		// must answer long before it.
		began := time.Now()
		r, err := doWithin(s, 20*time.Second, req.method, req.path, key, `{"reason":"blackhole"}`)
		t.Logf("%s %s during the blackhole: %d after %v (request deadline 1s)", req.method, req.path, r.Status, time.Since(began).Round(time.Millisecond))
		if err != nil {
			t.Fatalf("%s %s during the blackhole: %v (the request deadline did not cover it)", req.method, req.path, err)
		}
		if r.Status != http.StatusServiceUnavailable {
			t.Fatalf("%s %s during the blackhole = %d %s, want 503", req.method, req.path, r.Status, r.Body)
		}
		if code := r.json(t)["code"]; code != "UNAVAILABLE" && code != "OUTCOME_UNKNOWN" {
			t.Errorf("code = %v", code)
		}
	}

	p.Heal()
	waitfor.Cond(t, 30*time.Second, func() error {
		if r := s.do("GET", "/auth/admin/api/users/alice/sessions/s-1", key, ""); r.Status != http.StatusOK {
			return errors.New(string(r.Body))
		}
		return nil
	})
}

// doWithin is do with a client timeout, returning the client's error
// instead of failing the test.
func doWithin(s *testServer, limit time.Duration, method, path, key, body string) (response, error) {
	s.t.Helper()
	req, err := http.NewRequest(method, s.URL+path, strings.NewReader(body))
	if err != nil {
		return response{}, err
	}
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := (&http.Client{Timeout: limit}).Do(req)
	if err != nil {
		return response{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return response{Status: resp.StatusCode, Header: resp.Header, Body: b}, err
}
