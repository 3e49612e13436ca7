package broadcast

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/sessiond/sessiond/domain"
	"github.com/sessiond/sessiond/eventstore"
)

// ErrDisconnected is returned when NATS is not connected: nothing is
// published (and nothing is queued in the client), the relay retries.
var ErrDisconnected = errors.New("nats is not connected")

// Publisher publishes revocations to JetStream.
type Publisher struct {
	nc   *nats.Conn
	js   jetstream.JetStream
	ttl  bool          // per-message TTL supported
	skew time.Duration // kept past expiresAt
	wait time.Duration // PublishNow's bound
	now  func() time.Time
	log  *slog.Logger
	// acked holds the positions PublishNow had acknowledged, for the
	// relay to skip; shared by copies of the Publisher.
	acked *acked
}

// PublisherOptions configure a Publisher.
type PublisherOptions struct {
	TTL bool // the stream allows per-message TTL (EnsureStream's answer)
	// Skew is how long a revocation stays in the stream past its
	// session's expiresAt; default 5m. It must be at least the verifiers'
	// token leeway (30 s by default, verifier.WithLeeway): a verifier keeps
	// a revocation until expiresAt + leeway, and one that starts within that
	// window must still find it in the stream. The 5 minutes also absorb
	// clock skew between sessiond and the NATS servers.
	Skew    time.Duration
	AckWait time.Duration // PublishNow's bound on JetStream's ack; default 250ms
	Logger  *slog.Logger
}

// NewPublisher returns a Publisher on nc.
func NewPublisher(nc *nats.Conn, js jetstream.JetStream, o PublisherOptions) *Publisher {
	if o.Skew <= 0 {
		o.Skew = 5 * time.Minute
	}
	if o.AckWait <= 0 {
		o.AckWait = 250 * time.Millisecond
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return &Publisher{nc: nc, js: js, ttl: o.TTL, skew: o.Skew, wait: o.AckWait, now: time.Now, log: o.Logger, acked: newAcked()}
}

// message builds the JetStream message of a SessionRevoked, or nil for
// other events.
func (p *Publisher) message(r *eventstore.Recorded) (*nats.Msg, []jetstream.PublishOpt, error) {
	if r.Type != domain.TypeSessionRevoked {
		return nil, nil, nil
	}
	rv, err := revokedMessage(r)
	if err != nil {
		return nil, nil, err
	}
	msg := nats.NewMsg(SubjectRevoked + rv.SessionID)
	msg.Data = encode(rv)
	opts := []jetstream.PublishOpt{jetstream.WithMsgID(rv.EventID)}
	if p.ttl {
		ttl := rv.ExpiresAt.Add(p.skew).Sub(p.now())
		if ttl < time.Second {
			ttl = time.Second // the server's minimum
		}
		opts = append(opts, jetstream.WithMsgTTL(ttl.Round(time.Second)))
	}
	return msg, opts, nil
}

// PublishNow publishes freshly recorded revocations at once and reports
// whether JetStream acknowledged all of them within the ack bound. It never
// blocks longer than that bound; when NATS is down it returns false at
// once, and the relay delivers later (the event id makes the repeat
// harmless). The positions it had acknowledged are remembered, so that
// the relay, if it runs in this process, does not publish them again.
func (p *Publisher) PublishNow(ctx context.Context, recs []eventstore.Recorded) bool {
	if !p.nc.IsConnected() {
		return false
	}
	ctx, cancel := context.WithTimeout(ctx, p.wait)
	defer cancel()
	start := time.Now()
	var (
		futures   []jetstream.PubAckFuture
		positions []int64
	)
	for i := range recs {
		msg, opts, err := p.message(&recs[i])
		if err != nil {
			p.log.Error("broadcast message", "err", err)
			return false
		}
		if msg == nil {
			continue
		}
		f, err := p.js.PublishMsgAsync(msg, opts...)
		if err != nil {
			publishErrors.Inc()
			return false
		}
		futures = append(futures, f)
		positions = append(positions, recs[i].Position)
	}
	for i, f := range futures {
		select {
		case <-f.Ok():
			p.acked.add(positions[i])
		case <-f.Err():
			publishErrors.Inc()
			return false
		case <-ctx.Done():
			return false
		}
	}
	if len(futures) > 0 {
		publishDuration.Observe(time.Since(start).Seconds())
	}
	return true
}

// publishBatch publishes the revocations among recs in order and returns
// the position up to which every event is handled (published and acked, or
// not a revocation), with the first error. It skips the revocations this
// process's immediate path had acknowledged: they are in the stream
// already. One revocation is published per session, so skipping one never
// lets an older message of its subject follow a newer one.
func (p *Publisher) publishBatch(ctx context.Context, recs []eventstore.Recorded) (int64, error) {
	if !p.nc.IsConnected() {
		return 0, ErrDisconnected
	}
	start := time.Now()
	type pending struct {
		pos int64
		f   jetstream.PubAckFuture
	}
	var (
		waits   []pending
		handled int64
		err     error
	)
	for i := range recs {
		if recs[i].Type == domain.TypeSessionRevoked && p.acked.take(recs[i].Position) {
			relaySkipped.Inc()
			waits = append(waits, pending{pos: recs[i].Position})
			continue
		}
		msg, opts, merr := p.message(&recs[i])
		if merr != nil {
			err = merr
			break
		}
		if msg == nil {
			waits = append(waits, pending{pos: recs[i].Position})
			continue
		}
		f, perr := p.js.PublishMsgAsync(msg, opts...)
		if perr != nil {
			err = perr
			break
		}
		waits = append(waits, pending{pos: recs[i].Position, f: f})
	}
	timeout := time.NewTimer(10 * time.Second)
	defer timeout.Stop()
	for _, w := range waits {
		if w.f != nil {
			select {
			case <-w.f.Ok():
			case aerr := <-w.f.Err():
				publishErrors.Inc()
				return handled, aerr
			case <-timeout.C:
				publishErrors.Inc()
				return handled, errors.New("jetstream ack timeout")
			case <-ctx.Done():
				return handled, ctx.Err()
			}
		}
		handled = w.pos
	}
	if err != nil {
		publishErrors.Inc()
	} else if len(waits) > 0 {
		publishDuration.Observe(time.Since(start).Seconds())
	}
	return handled, err
}
