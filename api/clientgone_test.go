package api_test

import (
	"context"
	"errors"
	"github.com/sessiond/sessiond/internal/testlog"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sessiond/sessiond/api"
	"github.com/sessiond/sessiond/internal/waitfor"
)

type lockedBuffer = testlog.Buffer

// TestClientGone: a client that disconnects while its request waits on
// the store is not an internal error: nothing is logged at error level,
// a debug line says so, and the request is counted with status 499.
func TestClientGone(t *testing.T) {
	logs := &lockedBuffer{}
	entered := make(chan struct{}, 1)
	svc := &fakeService{onRevoke: func(ctx context.Context) error {
		entered <- struct{}{}
		<-ctx.Done()
		return ctx.Err() // what a store call returns when its context ends
	}}
	ts := startHTTP(t, api.Options{Service: svc, Logger: slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})

	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "DELETE", ts.URL+"/auth/admin/api/users/u1/sessions/gone-1", strings.NewReader(`{"reason":"x"}`))
	req.Header.Set("Authorization", "Bearer "+fakeKey)
	done := make(chan error, 1)
	go func() {
		resp, err := ts.Client().Do(req)
		if err == nil {
			resp.Body.Close()
		}
		done <- err
	}()
	<-entered
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("client: %v", err)
	}
	waitfor.Cond(t, 5*time.Second, func() error {
		if !strings.Contains(logs.String(), "client closed the request") {
			return errors.New("no debug line for the closed request yet")
		}
		return nil
	})
	if strings.Contains(logs.String(), `"level":"ERROR"`) || strings.Contains(logs.String(), "internal error") {
		t.Errorf("a client disconnect was logged as an internal error:\n%s", logs)
	}
	resp, err := ts.Client().Get(ts.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	want := `sessiond_http_requests_total{method="DELETE",route="/auth/admin/api/users/{id}/sessions/{sessionId}",status="499"}`
	if !strings.Contains(string(body), want) {
		t.Errorf("metrics lack %s", want)
	}
}
