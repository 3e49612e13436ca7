package server_test

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/sessiond/sessiond/internal/natstest"
	"github.com/sessiond/sessiond/internal/pgtest"
	"github.com/sessiond/sessiond/internal/tokens"
)

// decide sends method path to a decision endpoint.
func decide(t *testing.T, addr, method, path string, headers ...string) edgeAnswer {
	t.Helper()
	return edgeDo(t, method, "http://"+addr+path, "", headers...)
}

// TestEdgeDecision: in decision mode every method and path is a decision;
// the token comes from the bearer header or the configured cookie; denials
// carry the contract's error JSON, WWW-Authenticate and X-Edge-Error.
func TestEdgeDecision(t *testing.T) {
	ns := natstest.Start(t)
	pool, dbURL := pgtest.NewPool(t)
	path, signing := keyFile(t, "signing.pem")
	s := startServerOn(t, pool, dbURL, "NATS_URL", ns.URL(), "SESSIOND_SIGNING_KEYS", path, "SESSIOND_ISSUER", testIssuer)
	admin := s.key("ops")
	e := startDecision(t, ns, s.URL+"/.well-known/jwks.json", "--token-cookie", "sid_token", "--admin-listen", "127.0.0.1:0")
	addr := e.Addr()
	started := s.start(admin, "alice", "d-1").json(t)
	tok := started["token"].(string)
	bearer := "Bearer " + tok

	t.Run("allowed", func(t *testing.T) {
		for _, c := range []struct{ method, path string }{
			{"GET", "/"}, {"POST", "/orders/42?x=1"}, {"DELETE", "/metrics"}, {"HEAD", "/healthz"}, {"PATCH", "/_edgeverify"},
		} {
			a := decide(t, addr, c.method, c.path, "Authorization", bearer)
			if a.status != 200 || a.body != "" {
				t.Errorf("%s %s = %d %q, want 200 and no body", c.method, c.path, a.status, a.body)
			}
			if got, want := a.header.Get("X-User-Id"), "alice"; got != want {
				t.Errorf("X-User-Id = %q, want %q", got, want)
			}
			if got, want := a.header.Get("X-Session-Id"), "d-1"; got != want {
				t.Errorf("X-Session-Id = %q, want %q", got, want)
			}
			exp, _ := time.Parse(time.RFC3339, started["expiresAt"].(string))
			if got, want := a.header.Get("X-Token-Expires-At"), exp.UTC().Truncate(time.Second).Format(time.RFC3339); got != want {
				t.Errorf("X-Token-Expires-At = %q, want %q", got, want)
			}
			if got := a.header.Get("Cache-Control"); got != "no-store" {
				t.Errorf("Cache-Control = %q", got)
			}
		}
	})

	t.Run("cookie", func(t *testing.T) {
		if a := decide(t, addr, "GET", "/", "Cookie", "theme=dark; sid_token="+tok); a.status != 200 || a.header.Get("X-User-Id") != "alice" {
			t.Errorf("token in the cookie = %d %s", a.status, a.body)
		}
		if a := decide(t, addr, "GET", "/", "Cookie", "other="+tok); a.status != 401 || a.code(t) != "TOKEN_INVALID" {
			t.Errorf("token in another cookie = %d %s", a.status, a.body)
		}
		// A bearer header wins over the cookie.
		if a := decide(t, addr, "GET", "/", "Authorization", "Bearer x.y.z", "Cookie", "sid_token="+tok); a.status != 401 {
			t.Errorf("bad bearer, good cookie = %d, want the bearer's 401", a.status)
		}
	})

	now := time.Now()
	iss, _ := tokens.NewIssuer(testIssuer, "sessiond", []tokens.Key{signing})
	expired, _ := iss.Mint("alice", "d-1", now.Add(-2*time.Minute), now.Add(-time.Hour))
	for _, c := range []struct {
		name, auth, code, www string
	}{
		{"missing", "", "TOKEN_INVALID", "Bearer"},
		{"not bearer", "Basic YWxpY2U6cHc=", "TOKEN_INVALID", "Bearer"},
		{"garbage", "Bearer garbage", "TOKEN_INVALID", `Bearer error="invalid_token"`},
		{"expired", "Bearer " + expired, "TOKEN_EXPIRED", `Bearer error="invalid_token"`},
	} {
		t.Run(c.name, func(t *testing.T) {
			a := decide(t, addr, "GET", "/app", "Authorization", c.auth)
			if got := a.code(t); a.status != 401 || got != c.code {
				t.Errorf("%d %s; want 401 %s", a.status, a.body, c.code)
			}
			if got := a.header.Get("WWW-Authenticate"); got != c.www {
				t.Errorf("WWW-Authenticate = %q, want %q", got, c.www)
			}
			if got, want := a.header.Get("X-Edge-Error"), strings.TrimSpace(a.body); got != want {
				t.Errorf("X-Edge-Error = %q, want the body %q", got, want)
			}
			if a.header.Get("X-User-Id") != "" {
				t.Errorf("a denial names a user")
			}
		})
	}

	t.Run("revoked", func(t *testing.T) {
		if r := s.do("DELETE", "/auth/admin/api/users/alice/sessions/d-1", admin, ""); r.Status != 200 {
			t.Fatalf("DELETE = %d", r.Status)
		}
		checkFor(t, 5*time.Second, func() error {
			if a := decide(t, addr, "GET", "/", "Authorization", bearer); a.status != 401 || a.code(t) != "SESSION_REVOKED" {
				return fmt.Errorf("after DELETE: %d %s", a.status, a.body)
			}
			return nil
		})
		if a := decide(t, addr, "GET", "/", "Cookie", "sid_token="+tok); a.status != 401 || a.code(t) != "SESSION_REVOKED" {
			t.Errorf("revoked, by cookie = %d %s", a.status, a.body)
		}
	})

	t.Run("admin listener", func(t *testing.T) {
		a := decide(t, e.AdminAddr(), "GET", "/metrics")
		if a.status != 200 || !regexp.MustCompile(`sessiond_edge_decisions_total\{result="SESSION_REVOKED",transport="http"\} [1-9]`).MatchString(a.body) {
			t.Errorf("admin /metrics = %d, without counted decisions:\n%s", a.status, grepLines(a.body, "sessiond_edge"))
		}
		if a := decide(t, e.AdminAddr(), "GET", "/healthz"); a.status != 200 {
			t.Errorf("admin /healthz = %d", a.status)
		}
	})
}

// TestEdgeDecisionBody: a decision never waits for a request body. The
// client declares a large body and sends none of it; the answer comes
// anyway, and the connection is closed rather than drained.
func TestEdgeDecisionBody(t *testing.T) {
	ns := natstest.Start(t)
	pool, dbURL := pgtest.NewPool(t)
	s := startServerOn(t, pool, dbURL, "NATS_URL", ns.URL(), "SESSIOND_ISSUER", testIssuer)
	e := startDecision(t, ns, s.URL+"/.well-known/jwks.json")
	tok := mintToken(t, s, s.key("ops"), "alice", "b-1")
	for _, length := range []string{"Content-Length: 100", "Content-Length: 1000000000", "Transfer-Encoding: chunked"} {
		c, err := net.Dial("tcp", e.Addr())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		// The bound only turns a hang into a failure; a decision is immediate.
		c.SetDeadline(time.Now().Add(10 * time.Second))
		fmt.Fprintf(c, "POST /upload HTTP/1.1\r\nHost: edge\r\nAuthorization: Bearer %s\r\n%s\r\n\r\n", tok, length)
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatalf("%s: no answer before the body: %v", length, err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 || resp.Header.Get("X-User-Id") != "alice" || !resp.Close {
			t.Errorf("%s: %d %v; want 200 and Connection: close", length, resp.StatusCode, resp.Header)
		}
	}
}
