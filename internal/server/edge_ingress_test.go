package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sessiond/sessiond/internal/edge"
	"github.com/sessiond/sessiond/internal/ingresstest"
	"github.com/sessiond/sessiond/internal/natstest"
	"github.com/sessiond/sessiond/internal/pgtest"
)

// countingUpstream echoes the identity headers it receives and counts
// requests.
func countingUpstream(t *testing.T) (*httptest.Server, *atomic.Int64) {
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		fmt.Fprintf(w, "user=%s session=%s expires=%s path=%s", r.Header.Get(edge.HeaderUserID),
			r.Header.Get(edge.HeaderSessionID), r.Header.Get(edge.HeaderTokenExpiresAt), r.URL.Path)
	}))
	t.Cleanup(srv.Close)
	return srv, &hits
}

// startDecision starts edgeverify in decision mode.
func startDecision(t *testing.T, ns *natstest.Server, jwksURL string, extra ...string) *edge.Main {
	t.Helper()
	e := edge.NewMain()
	e.Stderr = io.Discard
	args := append([]string{"--mode", "decision", "--listen", "127.0.0.1:0", "--nats-url", ns.URL(),
		"--jwks-url", jwksURL, "--issuer", testIssuer, "--audience", "sessiond"}, extra...)
	if err := e.Start(context.Background(), args); err != nil {
		t.Fatalf("edgeverify: %v", err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}

// edgeAnswer is a response seen by a client at the edge.
type edgeAnswer struct {
	status int
	header http.Header
	body   string
}

// code returns the error code of a contract error body, and checks its
// shape.
func (a edgeAnswer) code(t *testing.T) string {
	t.Helper()
	var e struct {
		StatusCode int    `json:"statusCode"`
		Error      string `json:"error"`
		Message    string `json:"message"`
		Code       string `json:"code"`
	}
	if err := json.Unmarshal([]byte(a.body), &e); err != nil {
		return fmt.Sprintf("<not JSON: %q>", a.body)
	}
	if e.StatusCode != a.status || e.Error != http.StatusText(a.status) || e.Message == "" {
		t.Errorf("error body %s does not match status %d", a.body, a.status)
	}
	if ct := a.header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q, want application/json", ct)
	}
	return e.Code
}

func get(t *testing.T, url, token string, headers ...string) edgeAnswer {
	t.Helper()
	return edgeDo(t, "GET", url, token, headers...)
}

// TestEdgeNginx runs deploy/edge/nginx.conf in a real nginx: client →
// nginx → auth_request → edgeverify (decision mode) → upstream.
func TestEdgeNginx(t *testing.T) {
	ingresstest.Binary(t, "nginx") // skip (or fail in CI) before starting anything
	testIngress(t, func(t *testing.T, decision, upstream string) string {
		addr := ingresstest.FreeAddr(t)
		conf := ingresstest.Example(t, "../../deploy/edge/nginx.conf",
			"127.0.0.1:8080", addr, "127.0.0.1:8082", decision, "127.0.0.1:9000", upstream)
		ingresstest.StartNginx(t, conf, addr)
		return "http://" + addr
	})
}

// TestEdgeCaddy runs deploy/edge/Caddyfile in a real Caddy: client →
// Caddy → forward_auth → edgeverify (decision mode) → upstream.
func TestEdgeCaddy(t *testing.T) {
	ingresstest.Binary(t, "caddy")
	testIngress(t, func(t *testing.T, decision, upstream string) string {
		addr := ingresstest.FreeAddr(t)
		_, port, _ := strings.Cut(addr, ":")
		conf := ingresstest.Example(t, "../../deploy/edge/Caddyfile",
			":8080 {", ":"+port+" {", "127.0.0.1:8082", decision, "127.0.0.1:9000", upstream)
		ingresstest.StartCaddy(t, conf, addr)
		return "http://" + addr
	})
}

// testIngress drives an ingress, started by start in front of edgeverify's
// decision endpoint and a counting upstream, against a real sessiond: the
// verified identity reaches the upstream; no token, a revoked session and
// a stale feed (fail-closed) are refused with the contract's answers and
// never reach it.
func testIngress(t *testing.T, start func(t *testing.T, decision, upstream string) (url string)) {
	ns := natstest.Start(t)
	pool, dbURL := pgtest.NewPool(t)
	s := startServerOn(t, pool, dbURL, "NATS_URL", ns.URL(), "SESSIOND_ISSUER", testIssuer, "SESSIOND_HEARTBEAT", "100ms")
	admin := s.key("ops")
	up, hits := countingUpstream(t)
	e := startDecision(t, ns, s.URL+"/.well-known/jwks.json", "--fail-closed", "--max-staleness", "1s")
	url := start(t, e.Addr(), strings.TrimPrefix(up.URL, "http://")) + "/hello"

	tok := mintToken(t, s, admin, "alice", "ng-1")
	other := mintToken(t, s, admin, "alice", "ng-2")
	var a edgeAnswer
	checkFor(t, 5*time.Second, func() error { // fail-closed: allowed once the first heartbeat is in
		if a = get(t, url, tok, "X-User-Id", "mallory", "X-Session-Id", "forged"); a.status != 200 {
			return fmt.Errorf("valid token through the ingress = %d %s", a.status, a.body)
		}
		return nil
	})
	if !strings.HasPrefix(a.body, "user=alice session=ng-1 expires=20") || !strings.HasSuffix(a.body, "Z path=/hello") {
		t.Errorf("upstream saw %q; want the verified identity and expiry, not the client's headers", a.body)
	}

	t.Run("no token", func(t *testing.T) {
		before := hits.Load()
		a := get(t, url, "")
		if got := a.code(t); a.status != 401 || got != "TOKEN_INVALID" {
			t.Errorf("no token = %d %s; want 401 TOKEN_INVALID", a.status, a.body)
		}
		if got := a.header.Get("WWW-Authenticate"); !strings.HasPrefix(got, "Bearer") {
			t.Errorf("WWW-Authenticate = %q", got)
		}
		if a := get(t, url, "not.a.jwt"); a.status != 401 || a.code(t) != "TOKEN_INVALID" ||
			a.header.Get("WWW-Authenticate") != `Bearer error="invalid_token"` {
			t.Errorf("bad token = %d %v %s", a.status, a.header, a.body)
		}
		if n := hits.Load(); n != before {
			t.Errorf("upstream reached %d times by unauthenticated requests", n-before)
		}
	})

	t.Run("revoked", func(t *testing.T) {
		if r := s.do("DELETE", "/auth/admin/api/users/alice/sessions/ng-1", admin, ""); r.Status != 200 {
			t.Fatalf("DELETE = %d %s", r.Status, r.Body)
		}
		checkFor(t, 5*time.Second, func() error {
			if a := get(t, url, tok); a.status != 401 || a.code(t) != "SESSION_REVOKED" {
				return fmt.Errorf("revoked through the ingress = %d %s", a.status, a.body)
			}
			return nil
		})
		before := hits.Load()
		if a := get(t, url, tok); a.status != 401 || a.header.Get("WWW-Authenticate") != `Bearer error="invalid_token"` {
			t.Errorf("revoked = %d %v", a.status, a.header)
		}
		if n := hits.Load(); n != before {
			t.Errorf("upstream reached by a revoked session")
		}
		// Allowed; on a loaded machine the fail-closed edge may be stale for
		// a moment, so until the next heartbeat is in.
		checkFor(t, 10*time.Second, func() error {
			if a := get(t, url, other); a.status != 200 {
				return fmt.Errorf("another session of the same user = %d %s", a.status, a.body)
			}
			return nil
		})
	})

	t.Run("stale", func(t *testing.T) {
		ns.Stop()
		checkFor(t, 10*time.Second, func() error {
			if a := get(t, url, other); a.status != 503 || a.code(t) != "REVOCATIONS_STALE" {
				return fmt.Errorf("stale through the ingress = %d %s", a.status, a.body)
			}
			return nil
		})
		before := hits.Load()
		get(t, url, other)
		if n := hits.Load(); n != before {
			t.Errorf("upstream reached while stale and fail-closed")
		}
	})
}
