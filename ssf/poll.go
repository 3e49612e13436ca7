package ssf

import (
	"context"
	"sync"
	"time"

	"github.com/sessiond/sessiond/domain"
)

// Poll limits.
const (
	DefaultMaxEvents = 100
	MaxMaxEvents     = 1000
	maxAcked         = 100_000 // acknowledged jtis kept beyond the checkpoint, per stream
)

// pollState is what this instance knows of a poll stream beyond its
// checkpoint: SETs acknowledged out of order.
type pollState struct {
	mu    sync.Mutex
	acked map[string]bool
}

func (t *Transmitter) pollStateOf(id string) *pollState {
	t.pollMu.Lock()
	defer t.pollMu.Unlock()
	ps := t.polls[id]
	if ps == nil {
		ps = &pollState{acked: map[string]bool{}}
		t.polls[id] = ps
	}
	return ps
}

// Poll answers an RFC 8936 poll of a poll stream: it records the
// acknowledgements and errors, then returns up to MaxEvents unacknowledged
// SETs (jti → SET) and whether more are available. Unless
// ReturnImmediately, it waits up to LongPoll for a first SET.
//
// The stream's checkpoint moves over every SET acknowledged in order, so
// acknowledged SETs are never returned again, on any instance; SETs
// acknowledged out of order are remembered by this instance only and may
// come again after a restart (receivers de-duplicate by jti).
func (t *Transmitter) Poll(ctx context.Context, id string, req domain.SSFPollRequest) (map[string]string, bool, error) {
	snap, err := t.reload(ctx)
	if err != nil {
		return nil, false, err
	}
	st, err := snap.reg.Live(id)
	if err != nil {
		return nil, false, err
	}
	if st.Config.Delivery.Method != domain.DeliveryPoll {
		return nil, false, domain.Errorf(domain.CodeValidation, "ssf stream %s uses push delivery; it cannot be polled", id)
	}
	if req.MaxEvents < 0 {
		req.MaxEvents = DefaultMaxEvents
	}
	req.MaxEvents = min(req.MaxEvents, MaxMaxEvents)
	ps := t.pollStateOf(id)
	ps.mu.Lock()
	for _, jti := range req.Acks {
		if len(ps.acked) < maxAcked {
			ps.acked[jti] = true
		}
		deliveries.WithLabelValues(id).Inc()
	}
	ps.mu.Unlock()
	for jti, e := range req.SetErrs {
		failures.WithLabelValues(id, "set_err").Inc()
		f := domain.SSFDeliveryFailed{ID: id, JTI: truncate(jti, 64), Err: truncate(e.Err, 64), Description: truncate(e.Description, 256), Skipped: true}
		if err := t.rec.RecordFailure(ctx, f, false, ""); err != nil {
			return nil, false, err
		}
		ps.mu.Lock()
		ps.acked[jti] = true
		ps.mu.Unlock()
	}
	wake, cancel := t.log.Subscribe()
	defer cancel()
	deadline := time.Now().Add(t.opts.LongPoll)
	waiting := false
	defer func() {
		if waiting {
			pollsWaiting.WithLabelValues(id).Dec()
		}
	}()
	for {
		items, more, err := t.scanPoll(ctx, snap, id, ps, req.MaxEvents)
		if err != nil {
			return nil, false, err
		}
		if len(items) > 0 || req.ReturnImmediately || req.MaxEvents == 0 || time.Now().After(deadline) {
			sets := make(map[string]string, len(items))
			now := time.Now().Unix()
			for _, it := range items {
				it.claims["iat"] = now
				if sets[it.jti], err = t.keys.Sign(it.claims); err != nil {
					return nil, false, err
				}
			}
			return sets, more, nil
		}
		if !waiting {
			waiting = true
			pollsWaiting.WithLabelValues(id).Inc()
		}
		t.wait(ctx, snap.changed, wake, min(time.Until(deadline), 500*time.Millisecond))
		if ctx.Err() != nil { // the client went away
			return map[string]string{}, false, nil
		}
		snap = t.current()
	}
}

// scanPoll walks the stream from its checkpoint: it moves the checkpoint
// over the prefix of events that are acknowledged or make no SET, and
// collects up to max unacknowledged SETs after it.
func (t *Transmitter) scanPoll(ctx context.Context, snap *snapshot, id string, ps *pollState, max int) ([]*item, bool, error) {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	c, err := t.openCursor(ctx, snap, id)
	if err != nil {
		return nil, false, err
	}
	start, passable := c.pos, c.pos
	prefix := true
	var items []*item
	more := false
scan:
	for {
		if c.hold > 0 {
			if !resumable(c, snap) {
				break
			}
			c.hold = 0
		}
		recs, err := t.log.ReadAll(ctx, c.pos, pushBatch)
		if err != nil {
			return nil, false, err
		}
		for _, rec := range recs {
			it, err := t.step(c, rec)
			if err != nil {
				return nil, false, err
			}
			switch {
			case it != nil && ps.acked[it.jti]:
				if prefix { // the checkpoint passes it: forget it
					delete(ps.acked, it.jti)
				}
			case it != nil:
				prefix = false
				if len(items) == max {
					more = true
					break scan
				}
				items = append(items, it)
			}
			if prefix {
				passable = c.pos
			}
			if c.st.Deleted {
				break scan
			}
			if c.hold > 0 {
				continue scan
			}
		}
		if len(recs) < pushBatch {
			break
		}
	}
	if passable > start {
		if err := t.log.SaveCheckpoint(ctx, checkpointName(id), passable); err != nil {
			return nil, false, err
		}
	}
	return items, more, nil
}
