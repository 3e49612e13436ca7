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
	if old, err := js.Stream(ctx, cfg.Name); err == nil {
		before = old.CachedInfo().Config.Replicas
	}
	s, err := js.CreateOrUpdateStream(ctx, cfg)
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
