package verifier

import (
	"encoding/json"
	"log/slog"
	"testing"
	"time"

	"github.com/sessiond/sessiond/verifier/wire"
)

// TestHeartbeatAfterClockRestored: a clock set back and then restored
// leaves the coarse clock on the old reading until the next tick. A
// heartbeat applied in between, from a relay stuck 10 s behind, must make
// the verifier 10 s stale, not fresh: staleness must not be measured
// against a coarse clock older than the heartbeat's own receive time.
func TestHeartbeatAfterClockRestored(t *testing.T) {
	var off time.Duration
	cfg := defaults()
	cfg.logger = slog.New(slog.DiscardHandler)
	cfg.now = func() time.Time { return time.Now().Add(off) }
	v := &Verifier{cfg: cfg, set: newSet(0, instantUnit)}

	off = -time.Hour
	v.refresh(cfg.now()) // a tick while the clock reads an hour back
	off = 0              // the clock comes back; no tick yet
	now := time.Now()
	b, _ := json.Marshal(wire.Heartbeat{At: now, CaughtUpAt: now.Add(-10 * time.Second)})
	v.onHeartbeat(b)
	if got := v.Staleness(); got < 10*time.Second {
		t.Fatalf("staleness %v after a heartbeat from a relay 10 s behind", got)
	}
}
