package broadcast

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/nats-io/nats.go/jetstream"
)

// MaxReplicas is the largest replica count JetStream allows for a stream.
const MaxReplicas = 5

// DefaultMaxConsumers is the SESSIONS stream's default consumer limit.
// Every verifier reads the stream through a consumer of its own, and
// nats-server 2.12 and later cap a stream that sets no limit at 1,000
// consumers, which would turn the 1,001st verifier away.
const DefaultMaxConsumers = 100_000

// StreamOptions are the operator's settings for the SESSIONS stream.
type StreamOptions struct {
	Replicas     int // 1 to MaxReplicas; 0 means 1
	MaxConsumers int // 0 means DefaultMaxConsumers
}

func (o StreamOptions) maxConsumers() int {
	if o.MaxConsumers <= 0 {
		return DefaultMaxConsumers
	}
	return o.MaxConsumers
}

// JetStream API error codes (nats-server's errors.json) that refuse a
// replica count.
const (
	errCodeReplicasNotSupported jetstream.ErrorCode = 10074 // R>1 on a server that is not clustered
	errCodeInsufficientRes      jetstream.ErrorCode = 10023 // not enough storage or peers
	errCodeClusterNoPeers       jetstream.ErrorCode = 10005 // no suitable peers for placement
)

// replicaRefusal reports whether err is JetStream refusing the requested
// replica count, and whether that refusal is permanent (a standalone
// server never accepts more than one replica).
func replicaRefusal(err error) (refused, permanent bool) {
	var apiErr *jetstream.APIError
	if !errors.As(err, &apiErr) {
		return false, false
	}
	switch apiErr.ErrorCode {
	case errCodeReplicasNotSupported:
		return true, true
	case errCodeInsufficientRes, errCodeClusterNoPeers:
		return true, false
	}
	return false, false
}

// createOrUpdate applies cfg, whose Replicas is what the operator asked
// for. Where NATS refuses that count, it explains why in one log line and
// keeps going with what NATS allows: the stream's current replica count if
// it exists, else 1 on a standalone server. A cluster that is short of
// peers for a new stream is an error, so the caller retries until the
// peers are there rather than creating a less durable stream.
func createOrUpdate(ctx context.Context, js jetstream.JetStream, cfg jetstream.StreamConfig, log *slog.Logger) (jetstream.Stream, error) {
	want := max(cfg.Replicas, 1)
	var before int
	old, err := js.Stream(ctx, cfg.Name)
	if err == nil {
		before = old.CachedInfo().Config.Replicas
	}
	s, err := js.CreateOrUpdateStream(ctx, cfg)
	if err != nil && old != nil && old.CachedInfo().Config.MaxConsumers != cfg.MaxConsumers {
		// nats-server before 2.12 cannot change an existing stream's
		// consumer limit (it also sets no default limit): keep the old one.
		log.Warn("this NATS server cannot change the consumer limit of an existing stream; keeping the old limit",
			"stream", cfg.Name, "maxConsumers", old.CachedInfo().Config.MaxConsumers, "wanted", cfg.MaxConsumers, "err", err)
		cfg.MaxConsumers = old.CachedInfo().Config.MaxConsumers
		s, err = js.CreateOrUpdateStream(ctx, cfg)
	}
	if err == nil {
		if before != 0 && before != want {
			log.Info("stream replicas changed", "stream", cfg.Name, "from", before, "to", want)
		}
		return s, nil
	}
	refused, permanent := replicaRefusal(err)
	if !refused || want == 1 || (!permanent && before == 0) {
		return nil, err
	}
	keep := max(before, 1)
	if permanent {
		log.Warn(fmt.Sprintf("--stream-replicas=%d needs a JetStream cluster, but this NATS server is standalone (it refuses more than one replica); the %s stream keeps %d replica. Run a NATS cluster of at least %d nodes, or set --stream-replicas=1 to silence this",
			want, cfg.Name, keep, want),
			"stream", cfg.Name, "requested", want, "replicas", keep, "err", err)
	} else {
		log.Warn(fmt.Sprintf("the NATS cluster refused %d replicas for the %s stream (too few JetStream peers or too little storage); it keeps %d. Add peers and restart sessiond to apply --stream-replicas=%d",
			want, cfg.Name, keep, want),
			"stream", cfg.Name, "requested", want, "replicas", keep, "err", err)
	}
	cfg.Replicas = keep
	return js.CreateOrUpdateStream(ctx, cfg)
}
