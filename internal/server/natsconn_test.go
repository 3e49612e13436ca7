package server

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	natsserver "github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/sessiond/sessiond/internal/freeport"
	"github.com/sessiond/sessiond/internal/waitfor"
)

// startTestNATS starts the embedded server as serve does, on a free port
// below the ephemeral range.
func startTestNATS(t testing.TB) *embeddedNATS {
	t.Helper()
	port, err := freeport.Pick()
	if err != nil {
		t.Fatal(err)
	}
	m := &Main{Config: Config{NATSListen: fmt.Sprintf("127.0.0.1:%d", port), DataDir: t.TempDir()}}
	ns, err := m.startEmbeddedNATS(slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ns.Close)
	return ns
}

// TestEmbeddedConnectionInProcess: sessiond's own connection to its
// embedded server goes through an in-process pipe; to any other server
// (--nats-url) it goes over TCP.
func TestEmbeddedConnectionInProcess(t *testing.T) {
	ns := startTestNATS(t)
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	for _, c := range []struct {
		name     string
		embedded *embeddedNATS
		wantTCP  bool
	}{{"embedded", ns, false}, {"--nats-url", nil, true}} {
		nc, err := connectNATS(ns.URL(), c.embedded, quiet)
		if err != nil {
			t.Fatal(err)
		}
		if err := nc.Flush(); err != nil {
			t.Fatal(err)
		}
		conns, err := ns.srv.Connz(&natsserver.ConnzOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if len(conns.Conns) != 1 {
			t.Fatalf("%s: %d connections, want 1", c.name, len(conns.Conns))
		}
		if gotTCP := conns.Conns[0].IP != ""; gotTCP != c.wantTCP {
			t.Errorf("%s: connection from %q (port %d); want over TCP: %v", c.name, conns.Conns[0].IP, conns.Conns[0].Port, c.wantTCP)
		}
		nc.Close()
		waitfor.Cond(t, 10*time.Second, func() error {
			if n := ns.srv.NumClients(); n != 0 {
				return fmt.Errorf("%d clients still connected", n)
			}
			return nil
		})
	}
}

// BenchmarkPublishPath measures a JetStream publish and its ack to a file
// stream on a server in this process, over loopback TCP and through the
// in-process pipe sessiond uses for its embedded server.
func BenchmarkPublishPath(b *testing.B) {
	ns := startTestNATS(b)
	for _, mode := range []string{"tcp", "in-process"} {
		b.Run(mode, func(b *testing.B) {
			var opts []nats.Option
			if mode == "in-process" {
				opts = append(opts, nats.InProcessServer(ns.srv))
			}
			nc, err := nats.Connect(ns.URL(), opts...)
			if err != nil {
				b.Fatal(err)
			}
			defer nc.Close()
			js, _ := jetstream.New(nc)
			subject := "bench." + mode
			if _, err := js.CreateOrUpdateStream(context.Background(), jetstream.StreamConfig{
				Name: "BENCH_" + map[string]string{"tcp": "TCP", "in-process": "PIPE"}[mode], Subjects: []string{subject}, Storage: jetstream.FileStorage}); err != nil {
				b.Fatal(err)
			}
			data := make([]byte, 300) // about a revocation message
			for b.Loop() {
				f, err := js.PublishAsync(subject, data)
				if err != nil {
					b.Fatal(err)
				}
				select {
				case <-f.Ok():
				case err := <-f.Err():
					b.Fatal(err)
				}
			}
		})
	}
}
