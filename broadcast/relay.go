package broadcast

import (
	"context"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/sessiond/sessiond/eventstore"
	"github.com/sessiond/sessiond/eventstore/consumer"
)

// CheckpointName is the relay's checkpoint in the checkpoints table.
const CheckpointName = "broadcast-relay"

// Log is what the relay reads: the event log with its checkpoints.
type Log interface {
	consumer.Source
	Head(ctx context.Context) (int64, []byte, error)
}

// RelayOptions configure a Relay.
type RelayOptions struct {
	Heartbeat time.Duration // default 1s
	Retry     time.Duration // wait after a failed publish or election; default 1s
	// CheckpointEvery is how often, at most, the relay saves its
	// checkpoint (and when its term ends); default 250ms, at most
	// maxCheckpointEvery. The checkpoint only bounds replay: after a crash
	// the next leader publishes again what was broadcast since the last
	// save, and JetStream drops each repeat by its Nats-Msg-Id as long as
	// the replay stays within the stream's duplicate window (2 minutes,
	// EnsureStream). So the relay need not make a durable commit of its
	// own after every revocation.
	CheckpointEvery time.Duration
	Logger          *slog.Logger
}

// maxCheckpointEvery keeps the relay's replay window well inside the
// stream's duplicate window (dedupWindow).
const maxCheckpointEvery = dedupWindow / 4

// Relay publishes the log's revocations to JetStream while this instance
// is the leader.
type Relay struct {
	log    Log
	elect  Elect
	nc     *nats.Conn
	pub    *Publisher
	opts   RelayOptions
	runner *consumer.Runner
	leader atomic.Bool
	loaded atomic.Bool // the runner has loaded its checkpoint in this term
}

// NewRelay returns a relay over log; elect decides which instance relays.
func NewRelay(log Log, elect Elect, nc *nats.Conn, pub *Publisher, o RelayOptions) *Relay {
	if o.Heartbeat <= 0 {
		o.Heartbeat = time.Second
	}
	if o.Retry <= 0 {
		o.Retry = time.Second
	}
	if o.CheckpointEvery <= 0 {
		o.CheckpointEvery = 250 * time.Millisecond
	}
	o.CheckpointEvery = min(o.CheckpointEvery, maxCheckpointEvery)
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	r := &Relay{log: log, elect: elect, nc: nc, pub: pub, opts: o}
	r.runner = &consumer.Runner{
		Name: CheckpointName, Source: log, BatchSize: 500, Backoff: o.Retry, Logger: o.Logger,
		SaveEvery: o.CheckpointEvery,
		Handle: func(ctx context.Context, evs []eventstore.Recorded) (int64, error) {
			return pub.publishBatch(ctx, evs)
		},
		Loaded: func(int64) { r.loaded.Store(true) },
	}
	return r
}

// Runner is the relay's checkpointed consumer, for lag metrics.
func (r *Relay) Runner() *consumer.Runner { return r.runner }

// IsLeader reports whether this instance is publishing now.
func (r *Relay) IsLeader() bool { return r.leader.Load() }

// Collector reports the broadcast lag in events and seconds.
func (r *Relay) Collector() prometheus.Collector { return newLagCollector(r.log) }

// Run competes for leadership until ctx ends; while leader it relays and
// sends heartbeats. Another instance takes over within about Retry of this
// one dying.
func (r *Relay) Run(ctx context.Context) {
	log := r.opts.Logger
	for ctx.Err() == nil {
		won, err := r.elect(ctx, r.relay)
		if err != nil && ctx.Err() == nil {
			log.Warn("relay election", "err", err)
		}
		if !won {
			t := time.NewTimer(r.opts.Retry)
			select {
			case <-ctx.Done():
				t.Stop()
			case <-t.C:
			}
		}
	}
}

// relay runs while this instance holds the lock.
func (r *Relay) relay(ctx context.Context) {
	r.leader.Store(true)
	leaderGauge.Set(1)
	r.opts.Logger.Info("relay leader: broadcasting revocations")
	defer func() {
		r.leader.Store(false)
		leaderGauge.Set(0)
		r.opts.Logger.Info("relay leadership ended")
	}()
	// The previous term's runner has returned, so nothing sets loaded
	// before this term's runner has loaded its checkpoint.
	r.loaded.Store(false)
	done := make(chan struct{})
	go func() {
		defer close(done)
		r.runner.Run(ctx)
	}()
	var p progress
	t := time.NewTicker(r.opts.Heartbeat)
	defer t.Stop()
	for {
		r.heartbeat(ctx, &p)
		select {
		case <-ctx.Done():
			<-done
			return
		case <-t.C:
		}
	}
}
