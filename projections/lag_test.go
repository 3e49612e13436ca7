package projections_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/sessiond/sessiond/domain"
	"github.com/sessiond/sessiond/eventstore"
	"github.com/sessiond/sessiond/eventstore/consumer"
)

// TestLagCollector: a consumer that has handled 2 of 5 events is 3 behind.
func TestLagCollector(t *testing.T) { eachStore(t, testLagCollector) }

func testLagCollector(t *testing.T, s appender, _ model) {
	now := time.Now()
	for i := range 5 {
		apply(t, s, 0, domain.SessionStarted{SessionID: fmt.Sprintf("s%d", i), UserID: "u", StartedAt: now, ExpiresAt: now.Add(time.Hour)})
	}
	stopAt := int64(2)
	r := &consumer.Runner{Name: "relay", Source: s, Poll: time.Hour, Handle: func(_ context.Context, evs []eventstore.Recorded) (int64, error) {
		var last int64
		for _, e := range evs {
			if e.Position > stopAt {
				return last, fmt.Errorf("stop")
			}
			last = e.Position
		}
		return last, nil
	}, Backoff: time.Hour}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go r.Run(ctx)
	deadline := time.Now().Add(10 * time.Second)
	for r.Position() != 2 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	head := func(ctx context.Context) (int64, error) { p, _, err := s.Head(ctx); return p, err }
	c := consumer.NewLagCollector(head, r)
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(c)
	want := `
# HELP sessiond_log_head_position Position of the newest event in the log.
# TYPE sessiond_log_head_position gauge
sessiond_log_head_position 5
# HELP sessiond_projection_checkpoint_lag_events Events a consumer is behind the log head.
# TYPE sessiond_projection_checkpoint_lag_events gauge
sessiond_projection_checkpoint_lag_events{consumer="relay"} 3
# HELP sessiond_projection_checkpoint_position Last position a consumer has handled.
# TYPE sessiond_projection_checkpoint_position gauge
sessiond_projection_checkpoint_position{consumer="relay"} 2
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want)); err != nil {
		t.Fatal(err)
	}
}
