package witness

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// The JetStream names of the checkpoint witness.
const (
	StreamName = "AUDIT_CHECKPOINTS"
	Subject    = "witness.audit.checkpoints" // outside audit.>, the AUDIT mirror's subjects
)

// ErrNotProtected is returned by EnsureStream when the stream exists but
// allows deleting or purging messages.
var ErrNotProtected = errors.New("the stream allows deleting or purging messages")

// EnsureStream creates the witness stream: subject witness.audit.checkpoints,
// file storage, kept forever, with DenyDelete and DenyPurge, so messages
// cannot be removed through the JetStream API (NATS does not let those
// flags be turned off later). An existing stream must have both flags.
func EnsureStream(ctx context.Context, js jetstream.JetStream) (jetstream.Stream, error) {
	cfg := jetstream.StreamConfig{
		Name:        StreamName,
		Description: "sessiond signed audit checkpoints (JWS); append-only witness of the event log",
		Subjects:    []string{Subject},
		Storage:     jetstream.FileStorage,
		Retention:   jetstream.LimitsPolicy,
		Discard:     jetstream.DiscardNew, // never lose an old checkpoint to a limit
		DenyDelete:  true,
		DenyPurge:   true,
		Duplicates:  2 * time.Minute,
	}
	// Look first, so credentials that may only read stream info and
	// publish suffice once the stream exists.
	s, err := js.Stream(ctx, StreamName)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		s, err = js.CreateStream(ctx, cfg)
		if errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) {
			s, err = js.Stream(ctx, StreamName)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("stream %s: %w", StreamName, err)
	}
	if c := s.CachedInfo().Config; !c.DenyDelete || !c.DenyPurge {
		return nil, fmt.Errorf("stream %s: %w; recreate it with deny-delete and deny-purge", StreamName, ErrNotProtected)
	}
	return s, nil
}

// NATS appends checkpoints to the witness stream, creating it first.
type NATS struct {
	JS      jetstream.JetStream
	ensured bool
}

// Witness publishes one checkpoint JWS and waits for JetStream's ack.
// id (the checkpoint event's id) deduplicates retries. It is not safe for
// concurrent use (one runner calls it).
func (n *NATS) Witness(ctx context.Context, id, jws string) error {
	if !n.ensured {
		if _, err := EnsureStream(ctx, n.JS); err != nil {
			return err
		}
		n.ensured = true
	}
	msg := &nats.Msg{Subject: Subject, Data: []byte(jws), Header: nats.Header{}}
	msg.Header.Set(jetstream.MsgIDHeader, id)
	if _, err := n.JS.PublishMsg(ctx, msg); err != nil {
		return fmt.Errorf("witness %s: %w", StreamName, err)
	}
	return nil
}

// Name implements app.Witness.
func (n *NATS) Name() string { return "nats stream " + StreamName }

// ReadNATS returns every checkpoint in the witness stream, in order:
// StreamName, or a mirror or copy of it named stream (empty: StreamName).
func ReadNATS(ctx context.Context, js jetstream.JetStream, stream string) ([]string, error) {
	if stream == "" {
		stream = StreamName
	}
	s, err := js.Stream(ctx, stream)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		return nil, fmt.Errorf("this NATS holds no %s stream", stream)
	}
	if err != nil {
		return nil, fmt.Errorf("stream %s: %w", stream, err)
	}
	info, err := s.Info(ctx)
	if err != nil {
		return nil, fmt.Errorf("stream %s: %w", stream, err)
	}
	if info.State.Msgs == 0 {
		return nil, nil
	}
	cons, err := s.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{DeliverPolicy: jetstream.DeliverAllPolicy})
	if err != nil {
		return nil, fmt.Errorf("stream %s: %w", stream, err)
	}
	var out []string
	for {
		batch, err := cons.Fetch(500, jetstream.FetchMaxWait(5*time.Second))
		if err != nil {
			return nil, fmt.Errorf("stream %s: %w", stream, err)
		}
		n := 0
		for m := range batch.Messages() {
			n++
			out = append(out, string(m.Data()))
			md, err := m.Metadata()
			if err == nil && md.Sequence.Stream >= info.State.LastSeq {
				return out, nil
			}
		}
		if err := batch.Error(); err != nil {
			return nil, fmt.Errorf("stream %s: %w", stream, err)
		}
		if n == 0 {
			return nil, fmt.Errorf("stream %s: read %d of %d messages, then nothing more arrived", stream, len(out), info.State.Msgs)
		}
	}
}
