package server_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sessiond/sessiond/internal/pgtest"
)

// proxy is a TCP relay to PostgreSQL that a test can cut and restore, as
// if the database went away and came back.
type proxy struct {
	t      *testing.T
	addr   string
	target string
	mu     sync.Mutex
	ln     net.Listener
	conns  []net.Conn
}

func newProxy(t *testing.T, target string) *proxy {
	// Its address outlives each down: a ":0" port, from the ephemeral
	// range, could meanwhile become an outgoing connection's, and up fail.
	p := &proxy{t: t, target: target, addr: freeAddr(t)}
	ln, err := net.Listen("tcp", p.addr)
	if err != nil {
		t.Fatal(err)
	}
	p.serve(ln)
	t.Cleanup(p.down)
	return p
}

func (p *proxy) serve(ln net.Listener) {
	p.mu.Lock()
	p.ln = ln
	p.mu.Unlock()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			up, err := net.Dial("tcp", p.target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, up)
			p.mu.Unlock()
			go func() { io.Copy(up, c); up.Close() }()
			go func() { io.Copy(c, up); c.Close() }()
		}
	}()
}

// down refuses new connections and breaks every open one.
func (p *proxy) down() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != nil {
		p.ln.Close()
		p.ln = nil
	}
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

// up listens again on the same address.
func (p *proxy) up() {
	ln, err := net.Listen("tcp", p.addr)
	if err != nil {
		p.t.Fatalf("proxy up: %v", err)
	}
	p.serve(ln)
}

// TestPostgresDown: with the database gone, requests answer 503
// UNAVAILABLE promptly; when it returns, the same sessiond serves 200 again.
func TestPostgresDown(t *testing.T) {
	direct := pgtest.NewDatabase(t)
	u, _ := url.Parse(direct)
	p := newProxy(t, u.Host)
	u.Host = p.addr
	pool, err := pgxpool.New(context.Background(), direct)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	s := startServerOn(t, pool, u.String())
	key := s.key("ops")
	s.start(key, "alice", "s-1")
	s.start(key, "alice", "s-2")

	p.down()
	for _, path := range []string{"/auth/admin/api/users/alice/sessions/s-1", "/auth/admin/api/users/alice/sessions/s-2"} {
		start := time.Now()
		r := s.do("DELETE", path, key, `{"reason":"outage"}`)
		if r.Status != http.StatusServiceUnavailable {
			t.Fatalf("DELETE with the database down = %d %s, want 503", r.Status, r.Body)
		}
		if dto := r.json(t); dto["code"] != "UNAVAILABLE" || dto["error"] != "Service Unavailable" {
			t.Errorf("body = %s", r.Body)
		}
		t.Logf("503 after %v", time.Since(start))
	}
	if r := s.do("GET", "/readyz", "", ""); r.Status != http.StatusServiceUnavailable {
		t.Errorf("readyz with the database down = %d, want 503", r.Status)
	}
	if r := s.do("GET", "/healthz", "", ""); r.Status != http.StatusOK {
		t.Errorf("healthz with the database down = %d, want 200", r.Status)
	}
	// Nothing was recorded while down.
	var n int
	if err := pool.QueryRow(context.Background(), `SELECT count(*) FROM events WHERE type = 'SessionRevoked'`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("%d revocations recorded during the outage (%v)", n, err)
	}

	p.up()
	deadline := time.Now().Add(15 * time.Second)
	for {
		r := s.do("DELETE", "/auth/admin/api/users/alice/sessions/s-1", key, `{"reason":"back"}`)
		if r.Status == http.StatusOK {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("still %d %s after the database returned", r.Status, r.Body)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if r := s.do("GET", "/readyz", "", ""); r.Status != http.StatusOK {
		t.Errorf("readyz after recovery = %d", r.Status)
	}
}
