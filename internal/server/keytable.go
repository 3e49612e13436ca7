package server

import (
	"context"
	"log/slog"
	"time"

	"github.com/sessiond/sessiond/eventstore/pgstore"
	"github.com/sessiond/sessiond/internal/app"
)

// listenBackoff is how long a lost LISTEN connection waits to reconnect.
const listenBackoff = time.Second

// startKeyTable loads the admin key table from the log (a failure is
// logged: the table then loads in the background and the server is not
// ready meanwhile) and follows the log: on PostgreSQL, woken by LISTEN
// on the key events' channel within milliseconds of a commit anywhere, and
// polling every app.DefaultKeyPoll on both stores. The returned function
// stops it.
func startKeyTable(ctx context.Context, store Store, log *slog.Logger) (*app.KeyTable, func()) {
	log = log.With("subsystem", "keys")
	keys := app.NewKeyTable(store, app.KeyTableOptions{Logger: log})
	if err := keys.Sync(ctx); err != nil {
		log.WarnContext(ctx, "admin key table not loaded yet; retrying in the background", "err", err)
	}
	fctx, cancel := context.WithCancel(context.Background())
	wake := make(chan struct{}, 1)
	done := make(chan struct{}, 2)
	if pg, ok := store.(*pgstore.Store); ok {
		go func() {
			defer func() { done <- struct{}{} }()
			pg.Listen(fctx, pgstore.AdminKeysChannel, func() {
				select {
				case wake <- struct{}{}:
				default:
				}
			}, listenBackoff, log)
		}()
	} else {
		done <- struct{}{}
	}
	go func() {
		defer func() { done <- struct{}{} }()
		keys.Follow(fctx, wake, app.DefaultKeyPoll)
	}()
	return keys, func() { cancel(); <-done; <-done }
}

// allReady is ready when every check is.
func allReady(checks ...func(context.Context) error) func(context.Context) error {
	return func(ctx context.Context) error {
		for _, c := range checks {
			if err := c(ctx); err != nil {
				return err
			}
		}
		return nil
	}
}
