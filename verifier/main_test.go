package verifier_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/sessiond/sessiond/verifier"
)

// TestMain starts the nats-server behind Example and revokes one session on
// it, as sessiond would.
func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "verifier-example-")
	if err != nil {
		panic(err)
	}
	srv, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: -1, JetStream: true, StoreDir: dir, NoLog: true, NoSigs: true})
	if err != nil {
		panic(err)
	}
	go srv.Start()
	if !srv.ReadyForConnections(10 * time.Second) {
		panic("nats-server did not start")
	}
	exampleNATS = srv.ClientURL()
	if err := seedExample(exampleNATS); err != nil {
		panic(err)
	}
	code := m.Run()
	srv.Shutdown()
	os.RemoveAll(dir)
	os.Exit(code)
}

func seedExample(url string) error {
	nc, err := nats.Connect(url)
	if err != nil {
		return err
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	ctx := context.Background()
	if _, err := js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{Name: "SESSIONS", Subjects: []string{"sessions.>"}, MaxMsgsPerSubject: 1}); err != nil {
		return err
	}
	b, _ := json.Marshal(verifier.Revocation{Type: "SessionRevoked", EventID: "e1", Position: 1, SessionID: "session-that-was-revoked",
		UserID: "u1", RevokedAt: time.Now(), ExpiresAt: time.Now().Add(time.Hour), RevokedBy: "ops"})
	if _, err := js.Publish(ctx, "sessions.revoked.session-that-was-revoked", b); err != nil {
		return fmt.Errorf("seed: %w", err)
	}
	return nil
}
