package server

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/sessiond/sessiond/api"
	"github.com/sessiond/sessiond/broadcast"
	"github.com/sessiond/sessiond/console"
	"github.com/sessiond/sessiond/internal/app"
)

// withConsole serves the web console at /console/ beside the API, and
// returns the function that stops its session sweeper.
func withConsole(apiHandler http.Handler, svc *app.Service, store Store, bd api.Broadcaster, jwks []byte, idle time.Duration, log *slog.Logger) (http.Handler, func()) {
	c := console.New(console.Options{
		Service:     svc,
		Audit:       app.NewAudit(store),
		Broadcaster: bd,
		BroadcastPosition: func(ctx context.Context) (int64, error) {
			return store.LoadCheckpoint(ctx, broadcast.CheckpointName)
		},
		Verify:      console.DefaultVerify(store, jwks),
		IdleTimeout: idle,
		Logger:      log,
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		c.Run(ctx)
	}()
	mux := http.NewServeMux()
	mux.Handle(console.Prefix, c)
	mux.Handle("/console", http.RedirectHandler(console.Prefix, http.StatusMovedPermanently))
	mux.Handle("/", apiHandler)
	return mux, func() { cancel(); <-done }
}
