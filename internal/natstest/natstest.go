// Package natstest runs a real, in-process nats-server with JetStream for
// tests, on a random port, and can stop and restart it on the same port
// and store. It is for tests only; of this module it imports only
// internal/freeport and internal/waitfor.
package natstest

import (
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// Server is an in-process nats-server.
type Server struct {
	tb   testing.TB
	opts server.Options
	srv  *server.Server
}

// Start runs a JetStream-enabled server on 127.0.0.1 with a random port
// (kept across restarts) and a temporary store, shut down when tb ends.
func Start(tb testing.TB) *Server {
	tb.Helper()
	s := &Server{tb: tb, opts: server.Options{
		Host: "127.0.0.1", Port: freePort(tb), JetStream: true, StoreDir: tb.TempDir(),
		NoLog: true, NoSigs: true,
	}}
	s.run()
	tb.Cleanup(s.Stop)
	return s
}

// Port is the server's client port.
func (s *Server) Port() int {
	if s.srv == nil {
		return s.opts.Port
	}
	return s.srv.Addr().(*net.TCPAddr).Port
}

// Name is the server's name.
func (s *Server) Name() string { return s.opts.ServerName }

// Running reports whether the server is up (not stopped).
func (s *Server) Running() bool { return s.srv != nil }

func (s *Server) run() {
	s.tb.Helper()
	opts := s.opts
	srv, err := server.NewServer(&opts)
	if err != nil {
		s.tb.Fatalf("nats-server: %v", err)
	}
	go srv.Start()
	if !srv.ReadyForConnections(30 * time.Second) {
		srv.Shutdown()
		s.tb.Fatalf("nats-server %s did not start listening on 127.0.0.1:%d (cluster %d, leaf %d)",
			opts.ServerName, opts.Port, opts.Cluster.Port, opts.LeafNode.Port)
	}
	s.srv = srv
}

// URL is the client URL of the server.
func (s *Server) URL() string { return fmt.Sprintf("nats://127.0.0.1:%d", s.opts.Port) }

// Stop shuts the server down (idempotent).
func (s *Server) Stop() {
	if s.srv != nil {
		s.srv.Shutdown()
		s.srv.WaitForShutdown()
		s.srv = nil
	}
}

// Restart starts the server again on the same port and store.
func (s *Server) Restart() {
	s.tb.Helper()
	s.Stop()
	s.run()
}
