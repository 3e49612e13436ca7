package broadcast

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/sessiond/sessiond/verifier/wire"
)

// The JetStream names of the contract (section 8), defined in
// verifier/wire.
const (
	StreamName       = wire.StreamName
	SubjectAll       = wire.SubjectAll
	SubjectRevoked   = wire.SubjectRevoked
	SubjectHeartbeat = wire.SubjectHeartbeat
)

// dedupWindow is how long JetStream remembers a Nats-Msg-Id: a repeat
// within it is dropped. The relay's replay after a crash or a change of
// leader must stay inside it (RelayOptions.CheckpointEvery).
const dedupWindow = 2 * time.Minute

// degradedMaxAge bounds how long revocations stay in the stream when the
// server cannot expire messages one by one (before nats-server 2.11).
const degradedMaxAge = 400 * 24 * time.Hour

// EnsureStream creates or updates the SESSIONS stream: subjects
// sessions.>, file storage, one message per subject, and per-message TTL
// where the server supports it. It reports whether per-message TTL is on;
// on an older server it falls back to a stream-wide maximum age and says so
// in a log line. o sets the replica count and the consumer limit; where
// NATS refuses either, the stream keeps what NATS allows and a log line
// says why.
func EnsureStream(ctx context.Context, js jetstream.JetStream, log *slog.Logger, o StreamOptions) (ttl bool, err error) {
	cfg := jetstream.StreamConfig{
		Name:              StreamName,
		Description:       "sessiond revocations (one message per session) and heartbeats",
		Subjects:          []string{SubjectAll},
		Storage:           jetstream.FileStorage,
		MaxMsgsPerSubject: 1,
		Discard:           jetstream.DiscardOld,
		AllowMsgTTL:       true,
		Duplicates:        dedupWindow,
		Replicas:          max(o.Replicas, 1),
		MaxConsumers:      o.maxConsumers(),
	}
	s, err := createOrUpdate(ctx, js, cfg, log)
	if err != nil && !errors.Is(err, context.DeadlineExceeded) {
		// Older servers may refuse the TTL setting outright.
		cfg.AllowMsgTTL = false
		cfg.MaxAge = degradedMaxAge
		s, err = createOrUpdate(ctx, js, cfg, log)
	}
	if err != nil {
		return false, fmt.Errorf("stream %s: %w", StreamName, err)
	}
	info := s.CachedInfo()
	// Servers before 2.11 ignore the unknown setting and echo it back off.
	if !info.Config.AllowMsgTTL {
		log.Warn("nats-server does not support per-message TTL (needs 2.11+); revocations stay in the stream until its max age instead of until each session expires",
			"stream", StreamName, "maxAge", degradedMaxAge.String())
		if info.Config.MaxAge == 0 {
			cfg.AllowMsgTTL = false
			cfg.MaxAge = degradedMaxAge
			cfg.Replicas = info.Config.Replicas
			if _, err := js.UpdateStream(ctx, cfg); err != nil {
				return false, fmt.Errorf("stream %s: %w", StreamName, err)
			}
		}
		return false, nil
	}
	return true, nil
}
