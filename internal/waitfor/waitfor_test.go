package waitfor_test

import (
	"errors"
	"testing"
	"time"

	"github.com/sessiond/sessiond/internal/waitfor"
)

func TestUntil(t *testing.T) {
	n := 0
	if err := waitfor.Until(time.Second, func() error {
		if n++; n < 3 {
			return errors.New("not yet")
		}
		return nil
	}); err != nil {
		t.Fatalf("Until = %v, want nil after 3 calls", err)
	}
	if got, want := n, 3; got != want {
		t.Fatalf("calls = %d, want %d", got, want)
	}
	never := errors.New("never")
	if err := waitfor.Until(20*time.Millisecond, func() error { return never }); !errors.Is(err, never) {
		t.Fatalf("Until = %v, want the condition's last error", err)
	}
}
