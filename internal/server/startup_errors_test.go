package server_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	natsserver "github.com/nats-io/nats-server/v2/server"

	"github.com/sessiond/sessiond/internal/server"
	"github.com/sessiond/sessiond/internal/waitfor"
)

// closedPort returns a loopback port nothing listens on.
func closedPort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	return port
}

// TestStartupDatabaseError: a refused or misnamed PostgreSQL is one line
// that names the setting and the cause.
func TestStartupDatabaseError(t *testing.T) {
	for name, tc := range map[string]struct{ url, cause string }{
		"refused":  {fmt.Sprintf("postgres://postgres@127.0.0.1:%d/x", closedPort(t)), "connection refused"},
		"unknown":  {"postgres://postgres@nosuchhost.invalid:5432/x", "cannot resolve host nosuchhost.invalid"},
		"password": {"postgres://postgres:secret@127.0.0.1:1/x", "connection refused"},
	} {
		t.Run(name, func(t *testing.T) {
			m := server.NewMain()
			m.Stdout, m.Stderr = io.Discard, io.Discard
			m.Getenv = env(map[string]string{"DATABASE_URL": tc.url, "SESSIOND_DATA_DIR": t.TempDir()})
			m.Logger = slog.New(slog.DiscardHandler)
			err := m.Run(context.Background(), []string{"migrate"})
			if err == nil {
				t.Fatal("migrate against an unreachable database succeeded")
			}
			msg := err.Error()
			if strings.Contains(msg, "\n") || !strings.Contains(msg, "--database-url (DATABASE_URL)") || !strings.Contains(msg, tc.cause) {
				t.Errorf("error = %q, want one line naming --database-url (DATABASE_URL) and %q", msg, tc.cause)
			}
			if strings.Contains(msg, "secret") {
				t.Errorf("error %q shows the password", msg)
			}
		})
	}
}

// TestStartupNATSErrors: an unreachable NATS and one without JetStream are
// each named in one log line with the setting and the cause; a clean
// shutdown logs no disconnect.
func TestStartupNATSErrors(t *testing.T) {
	t.Run("unreachable", func(t *testing.T) {
		url := fmt.Sprintf("nats://127.0.0.1:%d", closedPort(t))
		s := startEmbedded(t, t.TempDir(), "NATS_URL", url)
		waitfor.Cond(t, 10*time.Second, func() error {
			want := "NATS is not reachable at " + url + " (--nats-url / NATS_URL): connect: connection refused"
			if !strings.Contains(s.Logs.String(), want) {
				return fmt.Errorf("no %q in the logs", want)
			}
			return nil
		})
		if logs := s.Logs.String(); strings.Contains(logs, "outbound buffer") {
			t.Errorf("logs speak of the outbound buffer, not the cause:\n%s", logs)
		}
	})
	t.Run("no JetStream", func(t *testing.T) {
		ns, err := natsserver.NewServer(&natsserver.Options{Host: "127.0.0.1", Port: -1, NoLog: true, NoSigs: true})
		if err != nil {
			t.Fatal(err)
		}
		go ns.Start()
		if !ns.ReadyForConnections(10 * time.Second) {
			t.Fatal("nats-server did not start")
		}
		t.Cleanup(ns.Shutdown)
		url := ns.ClientURL()
		s := startEmbedded(t, t.TempDir(), "NATS_URL", url)
		waitfor.Cond(t, 10*time.Second, func() error {
			want := "JetStream is not enabled on " + url + " (--nats-url / NATS_URL) (start nats-server with -js)"
			if !strings.Contains(s.Logs.String(), want) {
				return fmt.Errorf("no %q in the logs", want)
			}
			return nil
		})
	})
	t.Run("clean shutdown", func(t *testing.T) {
		s := startEmbedded(t, t.TempDir())
		waitfor.Cond(t, 10*time.Second, func() error {
			if !strings.Contains(s.Logs.String(), "broadcast ready") {
				return fmt.Errorf("broadcast not ready")
			}
			return nil
		})
		s.Main.Close()
		if logs := s.Logs.String(); strings.Contains(logs, "nats disconnected") {
			t.Errorf("a clean shutdown logged a NATS disconnect:\n%s", logs)
		}
	})
}
