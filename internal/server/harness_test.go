package server_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"github.com/sessiond/sessiond/internal/testlog"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sessiond/sessiond/internal/openapitest"
	"github.com/sessiond/sessiond/internal/pgtest"
	"github.com/sessiond/sessiond/internal/server"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

type syncBuffer = testlog.Buffer

// testServer is a sessiond started through Main on :0.
type testServer struct {
	t    testing.TB
	URL  string
	DB   string // database URL
	Data string // data dir (the embedded store's, when DB is empty)
	Pool *pgxpool.Pool
	Main *server.Main
	Logs *syncBuffer
}

func env(vars map[string]string) func(string) string {
	return func(k string) string { return vars[k] }
}

// startServer starts sessiond on a fresh database.
func startServer(t *testing.T) *testServer {
	t.Helper()
	pool, url := pgtest.NewPool(t)
	return startServerOn(t, pool, url)
}

func startServerOn(t testing.TB, pool *pgxpool.Pool, dbURL string, extraEnv ...string) *testServer {
	t.Helper()
	logs := &syncBuffer{}
	m := server.NewMain()
	m.Stdout, m.Stderr = io.Discard, logs
	vars := map[string]string{"DATABASE_URL": dbURL, "SESSIOND_DATA_DIR": t.TempDir(), "SESSIOND_NATS_LISTEN": "127.0.0.1:0"}
	for i := 0; i+1 < len(extraEnv); i += 2 {
		vars[extraEnv[i]] = extraEnv[i+1]
	}
	m.Getenv = env(vars)
	m.Logger = slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	addr := vars["SESSIOND_HTTP_ADDR"]
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	if err := m.Start(context.Background(), []string{"--http-addr", addr}); err != nil {
		t.Fatalf("start: %v", err)
	}
	t.Cleanup(func() { m.Close() })
	return &testServer{t: t, URL: "http://" + m.Addr(), DB: dbURL, Data: vars["SESSIOND_DATA_DIR"], Pool: pool, Main: m, Logs: logs}
}

// startServerAt starts sessiond on a fixed address (for restarts).
func startServerAt(t testing.TB, pool *pgxpool.Pool, dbURL, addr string, extraEnv ...string) *testServer {
	t.Helper()
	return startServerOn(t, pool, dbURL, append(extraEnv, "SESSIOND_HTTP_ADDR", addr)...)
}

func decodeSegment(s string) ([]byte, error) { return base64.RawURLEncoding.DecodeString(s) }

func jsonUnmarshal(b []byte, v any) { _ = json.Unmarshal(b, v) }

// cli runs a sessiond command against the server's database and returns
// its stdout.
func (s *testServer) cli(args ...string) (string, error) {
	var out, errOut bytes.Buffer
	m := server.NewMain()
	m.Stdout, m.Stderr = &out, &errOut
	m.Getenv = env(map[string]string{"DATABASE_URL": s.DB, "SESSIOND_DATA_DIR": s.Data})
	m.Logger = slog.New(slog.NewJSONHandler(io.Discard, nil))
	err := m.Run(context.Background(), args)
	return out.String(), err
}

// key creates an admin key with the given scopes and returns its secret.
func (s *testServer) key(name string, scopes ...string) string {
	s.t.Helper()
	if len(scopes) == 0 {
		scopes = []string{"sessions:read", "sessions:write", "sessions:revoke", "audit:read", "personal:read"}
	}
	out, err := s.cli("keys", "create", "--name", name, "--scopes", strings.Join(scopes, ","))
	if err != nil {
		s.t.Fatalf("keys create: %v", err)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	return lines[len(lines)-1]
}

// response is a decoded HTTP response.
type response struct {
	Status int
	Header http.Header
	Body   []byte
}

func (r response) json(t *testing.T) map[string]any {
	t.Helper()
	var v map[string]any
	if err := json.Unmarshal(r.Body, &v); err != nil {
		t.Fatalf("body %q is not a JSON object: %v", r.Body, err)
	}
	return v
}

// do sends a request. headers alternate names and values.
func (s *testServer) do(method, path, key, body string, headers ...string) response {
	s.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, s.URL+path, rd)
	if err != nil {
		s.t.Fatal(err)
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	client := &http.Client{Timeout: 30 * time.Second, Transport: openapitest.Transport(s.t, nil)}
	resp, err := client.Do(req)
	if err != nil {
		s.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return response{Status: resp.StatusCode, Header: resp.Header, Body: b}
}

// start begins a session for user and returns the response.
func (s *testServer) start(key, user, sessionID string) response {
	s.t.Helper()
	r := s.do("POST", "/auth/admin/api/users/"+user+"/sessions", key, `{"sessionId":"`+sessionID+`","ttlSeconds":3600}`)
	if r.Status != http.StatusCreated {
		s.t.Fatalf("start %s/%s = %d %s", user, sessionID, r.Status, r.Body)
	}
	return r
}

// count returns the number of events matching a SQL condition.
func (s *testServer) count(where string, args ...any) int {
	s.t.Helper()
	var n int
	if err := s.Pool.QueryRow(context.Background(), `SELECT count(*) FROM events WHERE `+where, args...).Scan(&n); err != nil {
		s.t.Fatal(err)
	}
	return n
}
