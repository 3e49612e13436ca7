package server_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/sessiond/sessiond/internal/edge"
	"github.com/sessiond/sessiond/internal/natstest"
	"github.com/sessiond/sessiond/internal/pgtest"
	"github.com/sessiond/sessiond/internal/tokens"
)

const testIssuer = "http://sessiond.test"

// upstream echoes who edgeverify said the caller is.
func upstream(t *testing.T) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "user=%s session=%s path=%s", r.Header.Get(edge.HeaderUserID), r.Header.Get(edge.HeaderSessionID), r.URL.Path)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// startEdge starts edgeverify in front of up.
func startEdge(t *testing.T, ns *natstest.Server, jwksURL, up string, extra ...string) *edge.Main {
	t.Helper()
	e := edge.NewMain()
	e.Stderr = io.Discard
	args := append([]string{"--listen", "127.0.0.1:0", "--upstream", up, "--nats-url", ns.URL(),
		"--jwks-url", jwksURL, "--issuer", testIssuer, "--audience", "sessiond"}, extra...)
	if err := e.Start(context.Background(), args); err != nil {
		t.Fatalf("edgeverify: %v", err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}

// call sends GET path through edgeverify with a bearer token.
func call(t *testing.T, e *edge.Main, token string, headers ...string) (int, string) {
	t.Helper()
	a := edgeDo(t, "GET", "http://"+e.Addr()+"/hello", token, headers...)
	return a.status, a.body
}

// edgeDo sends method url with a bearer token (if any) and header pairs,
// and reads the whole answer.
func edgeDo(t *testing.T, method, url, token string, headers ...string) edgeAnswer {
	t.Helper()
	req, _ := http.NewRequest(method, url, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return edgeAnswer{resp.StatusCode, resp.Header, string(b)}
}

func keyFile(t *testing.T, name string) (string, tokens.Key) {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	k, err := tokens.WriteKeyFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return path, k
}

func mintToken(t *testing.T, s *testServer, key, user, session string) string {
	t.Helper()
	tok, _ := s.start(key, user, session).json(t)["token"].(string)
	if strings.Count(tok, ".") != 2 {
		t.Fatalf("start returned no token: %q", tok)
	}
	return tok
}

// TestEdgeVerify: a minted token passes edgeverify to the upstream with
// the verified identity; after DELETE the same token gets 401
// SESSION_REVOKED. Bad tokens get their own codes.
func TestEdgeVerify(t *testing.T) {
	ns := natstest.Start(t)
	pool, dbURL := pgtest.NewPool(t)
	path, signing := keyFile(t, "signing.pem")
	s := startServerOn(t, pool, dbURL, "NATS_URL", ns.URL(), "SESSIOND_SIGNING_KEYS", path, "SESSIOND_ISSUER", testIssuer)
	admin := s.key("ops")
	up := upstream(t)
	e := startEdge(t, ns, s.URL+"/.well-known/jwks.json", up.URL)

	tok := mintToken(t, s, admin, "alice", "s-1")
	status, body := call(t, e, tok, "X-User-Id", "mallory")
	if status != 200 || body != "user=alice session=s-1 path=/hello" {
		t.Fatalf("through edgeverify = %d %q; want the verified identity upstream", status, body)
	}
	if r := s.do("DELETE", "/auth/admin/api/users/alice/sessions/s-1", admin, ""); r.Status != 200 {
		t.Fatalf("DELETE = %d", r.Status)
	}
	checkFor(t, 5*time.Second, func() error {
		if status, body := call(t, e, tok); status != 401 || !strings.Contains(body, `"code":"SESSION_REVOKED"`) {
			return fmt.Errorf("after revocation: %d %s", status, body)
		}
		return nil
	})

	now := time.Now()
	expired, _ := tokens.NewIssuer(testIssuer, "sessiond", []tokens.Key{signing})
	expiredTok, _ := expired.Mint("alice", "s-2", now.Add(-2*time.Minute), now.Add(-time.Hour))
	otherAud, _ := tokens.NewIssuer(testIssuer, "somebody-else", []tokens.Key{signing})
	otherAudTok, _ := otherAud.Mint("alice", "s-2", now.Add(time.Hour), now)
	otherIss, _ := tokens.NewIssuer("http://evil.test", "sessiond", []tokens.Key{signing})
	otherIssTok, _ := otherIss.Mint("alice", "s-2", now.Add(time.Hour), now)
	_, stranger := keyFile(t, "stranger.pem")
	unknown, _ := tokens.NewIssuer(testIssuer, "sessiond", []tokens.Key{stranger})
	unknownTok, _ := unknown.Mint("alice", "s-2", now.Add(time.Hour), now)
	good := mintToken(t, s, admin, "alice", "s-2")
	parts := strings.Split(good, ".")
	tampered := parts[0] + "." + strings.Replace(parts[1], parts[1][10:11], flip(parts[1][10:11]), 1) + "." + parts[2]

	for _, tc := range []struct {
		name, token, code string
	}{
		{"no token", "", "TOKEN_INVALID"},
		{"garbage", "not.a.jwt", "TOKEN_INVALID"},
		{"tampered", tampered, "TOKEN_INVALID"},
		{"expired", expiredTok, "TOKEN_EXPIRED"},
		{"wrong audience", otherAudTok, "TOKEN_INVALID"},
		{"wrong issuer", otherIssTok, "TOKEN_INVALID"},
		{"unknown kid", unknownTok, "TOKEN_INVALID"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, body := call(t, e, tc.token)
			if status != 401 || !strings.Contains(body, `"code":"`+tc.code+`"`) || !strings.Contains(body, `"statusCode":401`) {
				t.Errorf("%d %s; want 401 %s", status, body, tc.code)
			}
		})
	}
	if status, _ := call(t, e, good); status != 200 {
		t.Errorf("a good token after the bad ones = %d", status)
	}
	r, err := http.Get("http://" + e.Addr() + "/metrics")
	if err != nil || r.StatusCode != 200 {
		t.Fatalf("edgeverify /metrics: %v", err)
	}
	r.Body.Close()
	if r, err := http.Get("http://" + e.Addr() + "/healthz"); err != nil || r.StatusCode != 200 {
		t.Fatalf("edgeverify /healthz: %v", err)
	}
}

func flip(c string) string {
	if c == "A" {
		return "B"
	}
	return "A"
}

// TestEdgeKeyRotation: sessiond restarts publishing a new key first (it
// signs) and the old one; edgeverify learns the new kid when it meets it,
// and tokens signed by the old key still verify during the overlap.
func TestEdgeKeyRotation(t *testing.T) {
	ns := natstest.Start(t)
	pool, dbURL := pgtest.NewPool(t)
	oldPath, oldKey := keyFile(t, "old.pem")
	newPath, newKey := keyFile(t, "new.pem")
	addr := freeAddr(t)
	env := func(keys string) []string {
		return []string{"NATS_URL", ns.URL(), "SESSIOND_SIGNING_KEYS", keys, "SESSIOND_ISSUER", testIssuer, "SESSIOND_HTTP_ADDR", addr}
	}
	a := startServerAt(t, pool, dbURL, addr, env(oldPath)...)
	admin := a.key("ops")
	e := startEdge(t, ns, a.URL+"/.well-known/jwks.json", upstream(t).URL)
	old := mintToken(t, a, admin, "alice", "r-1")
	if status, body := call(t, e, old); status != 200 {
		t.Fatalf("old-key token = %d %s", status, body)
	}
	a.Main.Close()
	b := startServerAt(t, pool, dbURL, addr, env(newPath+","+oldPath)...)
	fresh := mintToken(t, b, admin, "alice", "r-2")
	if kid := headerKid(t, fresh); kid != newKey.ID || kid == oldKey.ID {
		t.Fatalf("new token's kid = %s; want the new key %s", kid, newKey.ID)
	}
	checkFor(t, 10*time.Second, func() error { // edgeverify refetches on the unknown kid
		if status, body := call(t, e, fresh); status != 200 {
			return fmt.Errorf("new-key token = %d %s", status, body)
		}
		return nil
	})
	if status, body := call(t, e, old); status != 200 {
		t.Errorf("old-key token during the overlap = %d %s", status, body)
	}
}

func headerKid(t *testing.T, tok string) string {
	t.Helper()
	var h struct {
		Kid string `json:"kid"`
		Alg string `json:"alg"`
	}
	raw, err := decodeSegment(strings.Split(tok, ".")[0])
	if err != nil {
		t.Fatal(err)
	}
	jsonUnmarshal(raw, &h)
	if h.Alg != "EdDSA" {
		t.Errorf("alg = %s, want EdDSA", h.Alg)
	}
	return h.Kid
}

// TestEdgeStale: with NATS gone past --max-staleness, fail-closed answers
// 503 REVOCATIONS_STALE; fail-open forwards and counts it.
func TestEdgeStale(t *testing.T) {
	ns := natstest.Start(t)
	pool, dbURL := pgtest.NewPool(t)
	s := startServerOn(t, pool, dbURL, "NATS_URL", ns.URL(), "SESSIOND_ISSUER", testIssuer, "SESSIOND_HEARTBEAT", "100ms")
	admin := s.key("ops")
	up := upstream(t)
	jwks := s.URL + "/.well-known/jwks.json"
	closed := startEdge(t, ns, jwks, up.URL, "--fail-closed", "--max-staleness", "500ms")
	open := startEdge(t, ns, jwks, up.URL, "--max-staleness", "500ms")
	tok := mintToken(t, s, admin, "alice", "st-1")
	checkFor(t, 5*time.Second, func() error {
		if status, _ := call(t, closed, tok); status != 200 {
			return fmt.Errorf("fresh fail-closed = %d", status)
		}
		return nil
	})
	ns.Stop()
	checkFor(t, 10*time.Second, func() error {
		if status, body := call(t, closed, tok); status != 503 || !strings.Contains(body, `"code":"REVOCATIONS_STALE"`) {
			return fmt.Errorf("stale fail-closed = %d %s", status, body)
		}
		return nil
	})
	metrics := func() string {
		resp, err := http.Get("http://" + open.Addr() + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	checkFor(t, 5*time.Second, func() error {
		if !strings.Contains(metrics(), "sessiond_verifier_stale 1") {
			return fmt.Errorf("fail-open edge not stale yet")
		}
		return nil
	})
	// A fail-open edge keeps serving and counts each pass made while stale.
	checkFor(t, 5*time.Second, func() error {
		if status, body := call(t, open, tok); status != 200 {
			return fmt.Errorf("stale fail-open = %d %s, want 200", status, body)
		}
		if m := metrics(); !regexp.MustCompile(`sessiond_verifier_stale_allowed_total [1-9]`).MatchString(m) {
			return fmt.Errorf("fail-open metrics do not count the stale pass:\n%s", grepLines(m, "sessiond_verifier_stale"))
		}
		return nil
	})
}

func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
