package verifier

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/sessiond/sessiond/verifier/wire"
)

// Revocation is one revocation as broadcast by sessiond (the payload of
// sessions.revoked.<sessionId>).
type Revocation = wire.Revocation

// Verifier follows the revocation stream and answers Check. It is safe for
// concurrent use.
type Verifier struct {
	cfg     config
	set     *set
	now     atomic.Int64 // coarse clock, unix nanos, updated every tick
	fresh   atomic.Int64 // the feed was known complete as of this time
	lastPos atomic.Int64 // position of the newest heartbeat
	head    atomic.Int64 // log head of the newest heartbeat
	msgs    atomic.Uint64
	revoked counter // Checks that answered ErrRevoked
	staleOK counter // fail-open Checks answered while stale
	stale   atomic.Bool

	// clockMu orders the freshness point's updates from heartbeats with
	// its move back when the clock is set back (tick), so a heartbeat
	// timed on the old clock is never stored after that move.
	clockMu sync.Mutex

	tokens *tokenCheck // nil without WithJWKS

	cc     jetstream.ConsumeContext
	cancel context.CancelFunc
	wg     sync.WaitGroup
	ready  chan struct{}
	once   sync.Once
}

// The consumer's pull request lifetime and idle heartbeat (see New).
const (
	pullExpiry    = 10 * time.Second
	pullHeartbeat = time.Second
)

// New loads the current revocation set from the stream and then follows
// it. It returns once the set is loaded (or fails when ctx ends or the
// load timeout passes).
func New(ctx context.Context, nc *nats.Conn, opts ...Option) (*Verifier, error) {
	cfg := defaults()
	for _, o := range opts {
		o(&cfg)
	}
	v := &Verifier{cfg: cfg, ready: make(chan struct{})}
	if cfg.jwksURL != "" {
		v.tokens = &tokenCheck{keys: newJWKS(cfg.jwksURL, cfg.httpClient), issuer: cfg.issuer,
			audience: cfg.audience, leeway: cfg.leeway, cache: map[[32]byte]Claims{}}
	}
	v.now.Store(cfg.now().UnixNano())
	js, err := jetstream.New(nc)
	if err != nil {
		return nil, fmt.Errorf("verifier: jetstream: %w", err)
	}
	stream, err := js.Stream(ctx, cfg.stream)
	if err != nil {
		return nil, fmt.Errorf("verifier: stream %s: %w", cfg.stream, err)
	}
	info, err := stream.Info(ctx)
	if err != nil {
		return nil, fmt.Errorf("verifier: stream %s: %w", cfg.stream, err)
	}
	v.set = newSet(int(min(info.State.Msgs, 1<<26)), instantUnit)
	if info.State.Msgs == 0 {
		v.markReady()
	}
	// One filter subject: nats.go sends it in the form nats-server 2.9
	// understands, which deliver-last-per-subject requires there.
	cons, err := stream.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{cfg.subjects},
		DeliverPolicy:  jetstream.DeliverLastPerSubjectPolicy,
	})
	if err != nil {
		return nil, fmt.Errorf("verifier: consumer: %w", err)
	}
	// Pull requests that expire after pullExpiry and idle heartbeats every
	// pullHeartbeat: when the server holding the consumer dies, nats.go
	// notices two missed heartbeats and recreates the ordered consumer
	// elsewhere in about 2 s, not the 10 s of its defaults. The relay's
	// own heartbeat flows every second, so idle heartbeats are rarely sent.
	if v.cc, err = cons.Consume(v.handle,
		jetstream.PullExpiry(pullExpiry), jetstream.PullHeartbeat(pullHeartbeat)); err != nil {
		return nil, fmt.Errorf("verifier: consume: %w", err)
	}
	bg, cancel := context.WithCancel(context.Background())
	v.cancel = cancel
	v.wg.Add(1)
	go v.tick(bg)

	load, stop := context.WithTimeout(ctx, cfg.loadTimeout)
	defer stop()
	select {
	case <-v.ready:
		v.refresh(cfg.now())
		return v, nil
	case <-load.Done():
		v.Close()
		return nil, fmt.Errorf("verifier: loading the revocation set: %w", load.Err())
	}
}

func (v *Verifier) markReady() { v.once.Do(func() { close(v.ready) }) }

// handle applies one stream message.
func (v *Verifier) handle(msg jetstream.Msg) {
	if msg.Subject() == wire.SubjectHeartbeat {
		v.onHeartbeat(msg.Data())
	} else {
		v.apply(msg.Subject(), msg.Data(), v.cfg.now())
	}
	if md, err := msg.Metadata(); err == nil && md.NumPending == 0 {
		v.markReady()
	}
}

// onHeartbeat applies a heartbeat received now, and advances the coarse
// clock to its receive time: after the clock was set forward (or back
// again after a step back), the coarse clock reads the old time until the
// next tick, and staleness measured against it would read as nothing.
func (v *Verifier) onHeartbeat(data []byte) {
	v.clockMu.Lock()
	defer v.clockMu.Unlock()
	now := v.cfg.now()
	v.apply(wire.SubjectHeartbeat, data, now)
	if n := now.UnixNano(); n > v.now.Load() {
		v.now.Store(n)
	}
}

// apply applies one message of the feed received at the given instant
// (docs/wire.md): a revocation joins the set until its KeepUntil, a
// heartbeat moves the freshness point forward.
func (v *Verifier) apply(subject string, data []byte, received time.Time) {
	v.msgs.Add(1)
	switch {
	case strings.HasPrefix(subject, wire.SubjectRevoked):
		var r Revocation
		if err := json.Unmarshal(data, &r); err != nil || r.SessionID == "" {
			return // a TTL marker or a foreign message: nothing to apply
		}
		// Kept as long as a token of the session can pass its exp check.
		if until := r.KeepUntil(v.cfg.leeway).UnixNano(); until >= received.UnixNano() {
			v.set.add(r.SessionID, until)
		} else {
			v.set.forget(until) // its tokens are refused as expired from now on
		}
		if v.cfg.observe != nil {
			v.cfg.observe(r)
		}
	case subject == wire.SubjectHeartbeat:
		hb, err := wire.ParseHeartbeat(data)
		if err != nil {
			return
		}
		if f := hb.FreshAsOf(received).UnixNano(); f > v.fresh.Load() {
			v.fresh.Store(f)
		}
		v.lastPos.Store(hb.Position)
		v.head.Store(hb.Head)
	}
}

// tick advances the coarse clock, sweeps expired entries and tracks
// staleness. A clock set back (a reading earlier than the previous tick's)
// moves the freshness point back by the step, so the step never counts as
// time the feed was fresh; a clock set forward only makes the verifier
// staler, until a heartbeat timed on the new clock arrives.
func (v *Verifier) tick(ctx context.Context) {
	defer v.wg.Done()
	t := time.NewTicker(v.cfg.tick)
	defer t.Stop()
	lastSweep := v.cfg.now()
	last := lastSweep
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			v.clockMu.Lock()
			now := v.cfg.now()
			// Wall readings (UnixNano), as fresh is: Sub would compare the
			// monotonic readings, which a stepped system clock does not move.
			if back := last.UnixNano() - now.UnixNano(); back > 0 {
				if f := v.fresh.Load(); f != 0 {
					v.fresh.Store(f - back)
				}
			}
			v.clockMu.Unlock()
			last = now
			v.refresh(now)
			if d := time.Duration(now.UnixNano() - lastSweep.UnixNano()); d >= time.Second || d < 0 { // d < 0: the clock was set back
				v.set.sweep(now.UnixNano())
				lastSweep = now
			}
		}
	}
}

// refresh advances the coarse clock and the staleness flag, logging when
// the feed goes stale or fresh.
func (v *Verifier) refresh(now time.Time) {
	v.now.Store(now.UnixNano())
	stale := v.Staleness() > v.cfg.maxStaleness
	if stale != v.stale.Swap(stale) {
		if stale {
			age := "no heartbeat yet"
			if v.fresh.Load() != 0 {
				age = v.Staleness().Round(time.Millisecond).String()
			}
			v.cfg.logger.Warn("revocation feed is stale", "staleness", age,
				"bound", v.cfg.maxStaleness.String(), "failClosed", v.cfg.failClosed)
		} else {
			v.cfg.logger.Info("revocation feed is fresh again")
		}
	}
}

// Check returns nil if the session may proceed, ErrRevoked if it has been
// revoked, or ErrStale if fail-closed is configured and the feed is older
// than its bound. It is safe for concurrent use and does not allocate.
func (v *Verifier) Check(sessionID string) error { return v.check(sessionID, v.now.Load()) }

// check is Check at the instant now (unix nanoseconds).
func (v *Verifier) check(sessionID string, now int64) error {
	if v.set.revoked(sessionID, now) {
		v.revoked.Add()
		return ErrRevoked
	}
	if v.stale.Load() {
		if v.cfg.failClosed {
			return ErrStale
		}
		v.staleOK.Add()
	}
	return nil
}

// Staleness is how long ago the feed was last known complete: now minus
// the freshness point of the newest heartbeat, which moves back by as much
// as the relay reports itself behind (wire.Heartbeat.FreshAsOf). Very
// large before the first heartbeat.
func (v *Verifier) Staleness() time.Duration {
	f := v.fresh.Load()
	if f == 0 {
		return time.Duration(1<<63 - 1)
	}
	return max(time.Duration(v.now.Load()-f), 0) // the coarse clock may lag a fresh arrival
}

// Len returns the number of revocations held.
func (v *Verifier) Len() int { return v.set.len() }

// Position returns the log position of the newest heartbeat: every
// revocation up to it has been broadcast.
func (v *Verifier) Position() int64 { return v.lastPos.Load() }

// Head returns the log head the relay reported in the newest heartbeat;
// Head() − Position() revocations may still be on their way.
func (v *Verifier) Head() int64 { return v.head.Load() }

// Close stops following the stream. The set stays readable.
func (v *Verifier) Close() {
	if v.cc != nil {
		v.cc.Stop()
	}
	if v.cancel != nil {
		v.cancel()
	}
	v.wg.Wait()
}
