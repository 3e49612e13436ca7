package natstest

import (
	"context"
	"testing"
	"time"
)

// TestRetryAsksAgain: a request that gets no answer (its attempt runs out)
// is made again, and Retry returns once one succeeds.
func TestRetryAsksAgain(t *testing.T) {
	defer func(d time.Duration) { attempt = d }(attempt)
	attempt = 50 * time.Millisecond
	calls := 0
	Retry(t, 10*time.Second, func(ctx context.Context) error {
		if calls++; calls == 1 {
			<-ctx.Done() // lost: never answered
			return ctx.Err()
		}
		return nil
	})
	if calls != 2 {
		t.Fatalf("fn called %d times, want 2 (one lost, one answered)", calls)
	}
}
