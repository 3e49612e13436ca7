package natstest

import (
	"context"
	"testing"
	"time"

	"github.com/sessiond/sessiond/internal/waitfor"
)

// attempt bounds one JetStream API request made through Retry (a
// variable for Retry's own test).
var attempt = 5 * time.Second

// Retry calls fn with a context of its own, bounded to a few seconds, until
// fn succeeds, and fails tb if that has not happened within total.
//
// A JetStream API request to a cluster is answered by the meta leader; one
// that arrives while leadership changes (a loaded machine starves the
// nodes' heartbeats) gets no answer at all and only times out. Like
// sessiond, which asks again every few seconds, a test asks again rather
// than wait out one lost request. fn must be safe to repeat (create or
// update, not create).
func Retry(tb testing.TB, total time.Duration, fn func(ctx context.Context) error) {
	tb.Helper()
	waitfor.Cond(tb, total, func() error {
		ctx, cancel := context.WithTimeout(context.Background(), attempt)
		defer cancel()
		return fn(ctx)
	})
}
