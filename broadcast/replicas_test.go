package broadcast_test

import (
	"context"
	"fmt"
	"github.com/sessiond/sessiond/internal/testlog"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/sessiond/sessiond/broadcast"
	"github.com/sessiond/sessiond/internal/natstest"
	"github.com/sessiond/sessiond/internal/waitfor"
)

type logBuf = testlog.Buffer

func jsFor(t *testing.T, url string) jetstream.JetStream {
	t.Helper()
	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	return js
}

func streamConfig(t *testing.T, js jetstream.JetStream) *jetstream.StreamInfo {
	t.Helper()
	st, err := js.Stream(context.Background(), broadcast.StreamName)
	if err != nil {
		t.Fatal(err)
	}
	info, err := st.Info(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return info
}

// TestStreamReplicasStandalone: a standalone server refuses 3 replicas;
// the stream is still set up, with 1, and a log line says why.
func TestStreamReplicasStandalone(t *testing.T) {
	ns := natstest.Start(t)
	js := jsFor(t, ns.URL())
	var logs logBuf
	log := slog.New(slog.NewTextHandler(&logs, nil))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := broadcast.EnsureStream(ctx, js, log, broadcast.StreamOptions{Replicas: 3}); err != nil {
		t.Fatalf("EnsureStream(3) on a standalone server: %v", err)
	}
	if got := streamConfig(t, js).Config.Replicas; got != 1 {
		t.Errorf("replicas = %d, want 1", got)
	}
	if !strings.Contains(logs.String(), "--stream-replicas=3 needs a JetStream cluster") {
		t.Errorf("no log line explaining the refusal:\n%s", logs.String())
	}
}

// TestStreamReplicasCluster: on a 3-node cluster the stream is created
// with the count asked for, and an existing stream is scaled up and down.
func TestStreamReplicasCluster(t *testing.T) {
	c := natstest.StartCluster(t, 3)
	js := jsFor(t, c.URL())
	log := slog.New(slog.DiscardHandler)
	for _, want := range []int{1, 3, 1} {
		natstest.Retry(t, 60*time.Second, func(ctx context.Context) error {
			if _, err := broadcast.EnsureStream(ctx, js, log, broadcast.StreamOptions{Replicas: want}); err != nil {
				return fmt.Errorf("EnsureStream(%d): %w", want, err)
			}
			return nil
		})
		waitfor.Cond(t, 20*time.Second, func() error {
			info := streamConfig(t, js)
			if got := info.Config.Replicas; got != want {
				return fmt.Errorf("configured replicas = %d, want %d", got, want)
			}
			if info.Cluster == nil {
				return fmt.Errorf("no cluster info")
			}
			if got := len(info.Cluster.Replicas) + 1; got != want {
				return fmt.Errorf("%d peers hold the stream, want %d", got, want)
			}
			for _, r := range info.Cluster.Replicas {
				if !r.Current {
					return fmt.Errorf("replica %s not current", r.Name)
				}
			}
			return nil
		})
	}
}

// TestStreamConsumerLimit: every verifier is a consumer of the stream, and
// nats-server caps a stream without a limit of its own at 1,000 consumers;
// the stream sets its own (also on a stream made before it did), so the
// 1,001st verifier is served.
func TestStreamConsumerLimit(t *testing.T) {
	ns := natstest.Start(t)
	js := jsFor(t, ns.URL())
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: broadcast.StreamName, Subjects: []string{broadcast.SubjectAll},
		MaxMsgsPerSubject: 1, AllowMsgTTL: true, Duplicates: 2 * time.Minute}); err != nil {
		t.Fatal(err)
	}
	if _, err := broadcast.EnsureStream(ctx, js, slog.New(slog.DiscardHandler), broadcast.StreamOptions{}); err != nil {
		t.Fatal(err)
	}
	if got := streamConfig(t, js).Config.MaxConsumers; got != broadcast.DefaultMaxConsumers {
		t.Errorf("max consumers = %d, want %d", got, broadcast.DefaultMaxConsumers)
	}
	st, err := js.Stream(ctx, broadcast.StreamName)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 1001 {
		if _, err := st.CreateConsumer(ctx, jetstream.ConsumerConfig{MemoryStorage: true, InactiveThreshold: time.Minute}); err != nil {
			t.Fatalf("consumer %d: %v", i+1, err)
		}
	}
}
