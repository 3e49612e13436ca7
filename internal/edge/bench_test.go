package edge

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/sessiond/sessiond/broadcast"
	"github.com/sessiond/sessiond/internal/ingresstest"
	"github.com/sessiond/sessiond/internal/natstest"
	"github.com/sessiond/sessiond/internal/tokens"
	"github.com/sessiond/sessiond/verifier"
)

// benchRevocations is the size of the revocation set the benchmarks check
// against.
const benchRevocations = 10_000

// benchDecider returns a Decider (with its metrics, as edgeverify runs it)
// over a real verifier following a stream of benchRevocations
// revocations, one of which is revokedTok's session, and a valid token.
func benchDecider(b *testing.B) (d *Decider, okTok, revokedTok string) {
	ns := natstest.Start(b)
	nc, err := nats.Connect(ns.URL())
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(nc.Close)
	js, _ := jetstream.New(nc)
	ctx := context.Background()
	if _, err := broadcast.EnsureStream(ctx, js, slog.New(slog.DiscardHandler), broadcast.StreamOptions{}); err != nil {
		b.Fatal(err)
	}
	now := time.Now()
	for i := range benchRevocations {
		id := fmt.Sprintf("revoked-%d", i)
		msg, _ := json.Marshal(broadcast.Revoked{Type: "SessionRevoked", EventID: id, Position: int64(i + 1), SessionID: id,
			UserID: "u", RevokedAt: now, ExpiresAt: now.Add(time.Hour), RevokedBy: "ops"})
		if _, err := js.PublishAsync("sessions.revoked."+id, msg); err != nil {
			b.Fatal(err)
		}
	}
	<-js.PublishAsyncComplete()
	hb, _ := json.Marshal(broadcast.Heartbeat{Position: benchRevocations, At: now})
	if _, err := js.Publish(ctx, "sessions.heartbeat", hb); err != nil {
		b.Fatal(err)
	}

	key, err := tokens.WriteKeyFile(filepath.Join(b.TempDir(), "k.pem"))
	if err != nil {
		b.Fatal(err)
	}
	iss, _ := tokens.NewIssuer("http://sessiond.test", "sessiond", []tokens.Key{key})
	jwks := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.Write(iss.JWKS()) }))
	b.Cleanup(jwks.Close)
	v, err := verifier.New(ctx, nc, verifier.WithJWKS(jwks.URL), verifier.WithIssuer("http://sessiond.test"),
		verifier.WithAudience("sessiond"), verifier.WithMaxStaleness(time.Hour), verifier.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(v.Close)
	if v.Len() != benchRevocations {
		b.Fatalf("verifier holds %d revocations, want %d", v.Len(), benchRevocations)
	}
	okTok, _ = iss.Mint("alice", "s-1", now.Add(time.Hour), now)
	revokedTok, _ = iss.Mint("alice", "revoked-42", now.Add(time.Hour), now)
	d = NewDecider(v, "")
	d.metrics = newDecisionMetrics()
	return d, okTok, revokedTok
}

// BenchmarkEdge measures one request through edgeverify's handler, in
// process, with a token already verified once (the SDK caches it until
// exp; revocation is still checked every time):
//   - decision/{allowed,revoked}: the decision endpoint, what an ingress's
//     auth subrequest costs edgeverify;
//   - proxy/allowed: proxy mode, which also forwards the request to an
//     upstream over loopback and copies its answer back;
//   - proxy/revoked: proxy mode refusing, nothing forwarded.
func BenchmarkEdge(b *testing.B) {
	d, okTok, revokedTok := benchDecider(b)
	up := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	b.Cleanup(up.Close)
	u, _ := url.Parse(up.URL)
	for _, c := range []struct {
		name   string
		h      http.Handler
		tok    string
		status int
	}{
		{"decision/allowed", d.DecisionHandler(), okTok, 200},
		{"decision/revoked", d.DecisionHandler(), revokedTok, 401},
		{"proxy/allowed", d.ProxyHandler(u), okTok, 200},
		{"proxy/revoked", d.ProxyHandler(u), revokedTok, 401},
	} {
		b.Run(c.name, func(b *testing.B) {
			req := httptest.NewRequest("GET", "/orders/42", nil)
			req.Header.Set("Authorization", "Bearer "+c.tok)
			w := &nullWriter{h: http.Header{}}
			c.h.ServeHTTP(w, req) // verify the token once; later requests hit the cache
			b.ReportAllocs()
			for b.Loop() {
				clear(w.h)
				w.code = 0
				c.h.ServeHTTP(w, req)
			}
			if w.code != c.status {
				b.Fatalf("status %d, want %d", w.code, c.status)
			}
		})
	}
}

// nullWriter records the status of a response and discards its body.
type nullWriter struct {
	h    http.Header
	code int
}

func (w *nullWriter) Header() http.Header         { return w.h }
func (w *nullWriter) Write(b []byte) (int, error) { return len(b), nil }
func (w *nullWriter) WriteHeader(code int)        { w.code = code }

// BenchmarkEdgeHops measures whole requests from a keep-alive client over
// loopback, one at a time, to an upstream that answers 200 with no body:
//   - nginx/direct: nginx proxying straight to the upstream (no check);
//   - nginx/auth_request: deploy/edge/nginx.conf, each request first
//     asking edgeverify's decision endpoint;
//   - proxy: edgeverify in proxy mode in front of the upstream.
//
// It needs nginx (skipped without it, outside CI).
func BenchmarkEdgeHops(b *testing.B) {
	d, okTok, _ := benchDecider(b)
	up := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	b.Cleanup(up.Close)
	u, _ := url.Parse(up.URL)
	decision := httptest.NewServer(d.DecisionHandler())
	b.Cleanup(decision.Close)
	proxy := httptest.NewServer(d.ProxyHandler(u))
	b.Cleanup(proxy.Close)
	nginx := func(withAuth bool) string {
		addr := ingresstest.FreeAddr(b)
		conf := ingresstest.Example(b, "../../deploy/edge/nginx.conf", "127.0.0.1:8080", addr,
			"127.0.0.1:8082", decision.Listener.Addr().String(), "127.0.0.1:9000", u.Host)
		if !withAuth {
			conf = strings.Replace(conf, "auth_request /_edgeverify;", "", 1)
		}
		ingresstest.StartNginx(b, conf, addr)
		return "http://" + addr
	}
	direct, authed := nginx(false), nginx(true)
	for _, c := range []struct{ name, url string }{
		{"nginx/direct", direct}, {"nginx/auth_request", authed}, {"proxy", proxy.URL},
	} {
		b.Run(c.name, func(b *testing.B) {
			client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1}}
			defer client.CloseIdleConnections()
			req, _ := http.NewRequest("GET", c.url+"/orders/42", nil)
			req.Header.Set("Authorization", "Bearer "+okTok)
			b.ReportAllocs()
			for b.Loop() {
				resp, err := client.Do(req)
				if err != nil {
					b.Fatal(err)
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 {
					b.Fatalf("status %d", resp.StatusCode)
				}
			}
		})
	}
}
