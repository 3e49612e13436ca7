// Package waitfor is the tests' one way to wait for a condition: poll it
// until it holds or a bound passes. Tests never sleep a fixed time instead.
//
// It imports only the standard library and may be used by any test.
package waitfor

import (
	"testing"
	"time"
)

// Poll is how often Cond asks again.
const Poll = 5 * time.Millisecond

// Cond calls fn every Poll until it returns nil, and fails the test with
// fn's last error if that has not happened within total.
func Cond(tb testing.TB, total time.Duration, fn func() error) {
	tb.Helper()
	if err := Until(total, fn); err != nil {
		tb.Fatalf("condition not met after %v: %v", total, err)
	}
}

// Until calls fn every Poll until it returns nil, and returns fn's last
// error if that has not happened within total. It is for code that must
// not fail the test itself (helpers run in goroutines, fault schedules).
func Until(total time.Duration, fn func() error) error {
	deadline := time.Now().Add(total)
	for {
		err := fn()
		if err == nil || time.Now().After(deadline) {
			return err
		}
		time.Sleep(Poll)
	}
}
