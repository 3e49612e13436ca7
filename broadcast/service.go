package broadcast

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/sessiond/sessiond/eventstore"
)

// Options configure the broadcast Service.
type Options struct {
	Publisher PublisherOptions // TTL is decided by EnsureStream
	Relay     RelayOptions
	Logger    *slog.Logger
	// Where names the NATS server and the setting it came from, for
	// operators' log lines, e.g. "nats://10.0.0.5:4222 (--nats-url / NATS_URL)".
	Where  string
	Stream StreamOptions
}

// Service is the broadcast of one sessiond instance: it sets up the stream
// (retrying while NATS is unreachable), runs the relay election and serves
// the immediate path. Until the stream is set up, PublishNow reports false
// and revocations wait for the relay.
type Service struct {
	nc     *nats.Conn
	pub    atomic.Pointer[Publisher]
	relay  *Relay
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// Start begins broadcasting from log over nc; elect picks the relay leader.
func Start(log Log, elect Elect, nc *nats.Conn, o Options) (*Service, error) {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	o.Publisher.Logger, o.Relay.Logger = o.Logger, o.Logger
	js, err := jetstream.New(nc)
	if err != nil {
		return nil, err
	}
	s := &Service{nc: nc}
	// The relay publishes through whichever publisher the stream set-up
	// produced; it is created now so its runner can be measured at once.
	proxy := &Publisher{nc: nc, js: js, now: time.Now, log: o.Logger}
	s.relay = NewRelay(log, elect, nc, proxy, o.Relay)
	ctx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		said := ""
		for ctx.Err() == nil {
			sctx, stop := context.WithTimeout(ctx, 5*time.Second)
			ttl, err := EnsureStream(sctx, js, o.Logger, o.Stream)
			stop()
			if err == nil {
				o.Publisher.TTL = ttl
				p := NewPublisher(nc, js, o.Publisher)
				*proxy = *p
				s.pub.Store(p)
				o.Logger.Info("broadcast ready", "stream", StreamName, "perMessageTTL", ttl)
				s.relay.Run(ctx)
				return
			}
			if ctx.Err() == nil {
				// One line per change of cause, not one a second.
				if msg := explain(nc, o.Where, err); msg != said {
					o.Logger.Warn(msg)
					said = msg
				}
				select {
				case <-ctx.Done():
				case <-time.After(time.Second):
				}
			}
		}
	}()
	return s, nil
}

// PublishNow implements the API's immediate path.
func (s *Service) PublishNow(ctx context.Context, recs []eventstore.Recorded) bool {
	p := s.pub.Load()
	return p != nil && p.PublishNow(ctx, recs)
}

// Relay returns the relay.
func (s *Service) Relay() *Relay { return s.relay }

// Close stops the relay (giving up leadership) and waits for it.
func (s *Service) Close() {
	s.cancel()
	s.wg.Wait()
}
