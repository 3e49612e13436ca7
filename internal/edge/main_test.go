package edge_test

import (
	"context"
	"io"
	"strings"
	"testing"

	"github.com/sessiond/sessiond/internal/edge"
)

// TestFlags: bad configuration fails at start-up with one line naming the
// flag, before anything connects.
func TestFlags(t *testing.T) {
	for _, c := range []struct {
		args []string
		flag string
	}{
		{[]string{"--mode", "sidecar"}, "--mode"},
		{[]string{}, "--upstream"},
		{[]string{"--mode", "decision", "--upstream", "http://127.0.0.1:9000"}, "--upstream"},
		{[]string{"--mode", "decision", "--token-cookie", "a b"}, "--token-cookie"},
		{[]string{"--mode", "decision", "--max-staleness", "0s"}, "--max-staleness"},
		{[]string{"--mode", "decision", "extra"}, "extra"},
	} {
		m := edge.NewMain()
		m.Stderr = io.Discard
		err := m.Start(context.Background(), c.args)
		if err == nil {
			m.Close()
			t.Errorf("%v: started", c.args)
			continue
		}
		if !strings.Contains(err.Error(), c.flag) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%v: %q; want one line naming %s", c.args, err, c.flag)
		}
	}
}
