package broadcast

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/sessiond/sessiond/eventstore"
	"github.com/sessiond/sessiond/eventstore/consumer"
)

// Audit mirror names.
const (
	// AuditStreamName is the default JetStream stream the whole log is
	// mirrored to.
	AuditStreamName = "AUDIT"
	// AuditSubjectPrefix starts the subject of every mirrored event:
	// audit.<event type>.
	AuditSubjectPrefix = "audit."
	// AuditCheckpointName is the mirror's checkpoint.
	AuditCheckpointName = "audit-mirror"
	// HeaderPosition carries a mirrored event's log position.
	HeaderPosition = "Sessiond-Position"
)

// CloudEvent is a mirrored event: a CloudEvents 1.0 event in structured
// JSON mode, with the log position, hash and previous hash as extension
// attributes.
type CloudEvent struct {
	SpecVersion     string         `json:"specversion"` // "1.0"
	ID              string         `json:"id"`          // the event id
	Source          string         `json:"source"`
	Type            string         `json:"type"`    // "sessiond." + event type
	Subject         string         `json:"subject"` // the stream id
	Time            string         `json:"time"`    // recorded_at, RFC 3339
	DataContentType string         `json:"datacontenttype"`
	Position        int64          `json:"position"`
	Hash            string         `json:"hash"`
	PrevHash        string         `json:"prevhash"`
	StreamVersion   int64          `json:"streamversion"`
	Data            CloudEventData `json:"data"`
}

// CloudEventData is a mirrored event's data: the event's data and its
// metadata (actor, request id, personal-data references), as stored.
type CloudEventData struct {
	Data     json.RawMessage `json:"data"`
	Metadata json.RawMessage `json:"metadata"`
}

// NewCloudEvent renders a recorded event as a CloudEvent from source.
func NewCloudEvent(r *eventstore.Recorded, source string) CloudEvent {
	return CloudEvent{SpecVersion: "1.0", ID: r.EventID.String(), Source: source, Type: "sessiond." + r.Type,
		Subject: r.StreamID, Time: r.RecordedAt.UTC().Format(time.RFC3339Nano), DataContentType: "application/json",
		Position: r.Position, Hash: hex.EncodeToString(r.Hash), PrevHash: hex.EncodeToString(r.PrevHash),
		StreamVersion: r.StreamVersion, Data: CloudEventData{Data: r.Data, Metadata: r.Metadata}}
}

// AuditMirrorOptions configure an AuditMirror.
type AuditMirrorOptions struct {
	Stream string        // default AuditStreamName
	Source string        // CloudEvents source, e.g. the issuer URL; default "sessiond"
	Retry  time.Duration // wait after a failure; default 1s
	// CheckpointEvery is how often, at most, the mirror saves its
	// checkpoint (and when its term ends); default 250ms. The checkpoint
	// only bounds replay, and a replay publishes nothing twice: the
	// mirror skips what the stream already holds (see AuditMirror). So it
	// need not make a durable commit of its own after every batch, which
	// at low load was one more WAL flush per append.
	CheckpointEvery time.Duration
	// Linger is how long the mirror waits after a commit before it reads
	// the log, so that it reads and publishes the commits of that span
	// together; default 100ms. The AUDIT stream is for SIEM pipelines,
	// where a tenth of a second does not matter, while a read per commit
	// was a third round trip to PostgreSQL per append (beside the append
	// and the relay's read). The revocation broadcast is not delayed.
	Linger time.Duration
	Logger *slog.Logger
}

// AuditMirror copies every event of the log, in log order, to a
// JetStream stream for SIEM pipelines. The log is its outbox: a
// checkpointed consumer (consumer.Runner) publishes while this instance
// holds its election, and each message carries Nats-Msg-Id = event id.
// Before publishing after a start or a failure it reads the stream's last
// message and skips what is already there, so a consumer sees every event
// exactly once however long NATS was away (not only within the stream's
// duplicate window).
type AuditMirror struct {
	log    Log
	elect  Elect
	nc     *nats.Conn
	js     jetstream.JetStream
	opts   AuditMirrorOptions
	runner *consumer.Runner
	stored int64 // last position known to be in the stream; -1: unknown
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// StartAuditMirror creates the stream (retrying while NATS is away) and
// runs the mirror's election until Close.
func StartAuditMirror(log Log, elect Elect, nc *nats.Conn, o AuditMirrorOptions) (*AuditMirror, error) {
	if o.Stream == "" {
		o.Stream = AuditStreamName
	}
	if o.Source == "" {
		o.Source = "sessiond"
	}
	if o.Retry <= 0 {
		o.Retry = time.Second
	}
	if o.CheckpointEvery <= 0 {
		o.CheckpointEvery = 250 * time.Millisecond
	}
	if o.Linger <= 0 {
		o.Linger = 100 * time.Millisecond
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	js, err := jetstream.New(nc)
	if err != nil {
		return nil, err
	}
	m := &AuditMirror{log: log, elect: elect, nc: nc, js: js, opts: o, stored: -1}
	m.runner = &consumer.Runner{Name: AuditCheckpointName, Source: log, BatchSize: 500, Backoff: o.Retry, Logger: o.Logger,
		SaveEvery: o.CheckpointEvery, Linger: o.Linger, Handle: m.publish}
	ctx, cancel := context.WithCancel(context.Background())
	m.cancel = cancel
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		said := ""
		for ctx.Err() == nil {
			sctx, stop := context.WithTimeout(ctx, 5*time.Second)
			err := m.ensureStream(sctx)
			stop()
			if err == nil {
				m.run(ctx)
				return
			}
			// While NATS is away the broadcast's own line says why; say
			// anything else once per change of cause.
			if msg := err.Error(); nc.IsConnected() && msg != said {
				o.Logger.Warn("audit stream not ready; events wait in the log", "stream", o.Stream, "err", err)
				said = msg
			}
			select {
			case <-ctx.Done():
			case <-time.After(o.Retry):
			}
		}
	}()
	return m, nil
}

// Runner is the mirror's checkpointed consumer.
func (m *AuditMirror) Runner() *consumer.Runner { return m.runner }

// Close stops the mirror and gives up its election.
func (m *AuditMirror) Close() {
	m.cancel()
	m.wg.Wait()
}

// ensureStream creates the stream if it is missing; an existing stream's
// limits (which operators may have set) are left alone.
func (m *AuditMirror) ensureStream(ctx context.Context) error {
	_, err := m.js.Stream(ctx, m.opts.Stream)
	if err == nil {
		return nil
	}
	if !errors.Is(err, jetstream.ErrStreamNotFound) {
		return err
	}
	_, err = m.js.CreateStream(ctx, jetstream.StreamConfig{
		Name:        m.opts.Stream,
		Description: "sessiond audit trail: every event of the log, in log order, as CloudEvents",
		Subjects:    []string{AuditSubjectPrefix + ">"},
		Storage:     jetstream.FileStorage,
		Duplicates:  2 * time.Minute,
	})
	return err
}

func (m *AuditMirror) run(ctx context.Context) {
	for ctx.Err() == nil {
		won, err := m.elect(ctx, func(ctx context.Context) {
			m.opts.Logger.Info("audit mirror leader", "stream", m.opts.Stream)
			m.stored = -1 // another instance may have published meanwhile
			_ = m.runner.Run(ctx)
		})
		if err != nil && ctx.Err() == nil {
			m.opts.Logger.Warn("audit mirror election", "err", err)
		}
		if !won {
			select {
			case <-ctx.Done():
			case <-time.After(m.opts.Retry):
			}
		}
	}
}

// lastStored reads the position of the stream's last message (0 when
// empty).
func (m *AuditMirror) lastStored(ctx context.Context) (int64, error) {
	s, err := m.js.Stream(ctx, m.opts.Stream)
	if err != nil {
		return 0, err
	}
	info, err := s.Info(ctx)
	if err != nil {
		return 0, err
	}
	if info.State.Msgs == 0 {
		return 0, nil
	}
	msg, err := s.GetMsg(ctx, info.State.LastSeq)
	if err != nil {
		return 0, err
	}
	pos, err := strconv.ParseInt(msg.Header.Get(HeaderPosition), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("stream %s message %d: no %s header", m.opts.Stream, info.State.LastSeq, HeaderPosition)
	}
	return pos, nil
}

// publish is the runner's handler: it publishes evs in order and returns
// the last position JetStream acknowledged (or already held).
func (m *AuditMirror) publish(ctx context.Context, evs []eventstore.Recorded) (handled int64, err error) {
	if !m.nc.IsConnected() {
		return 0, ErrDisconnected
	}
	defer func() {
		if err != nil {
			m.stored = -1 // re-read the stream before the retry
		}
	}()
	if m.stored < 0 {
		if m.stored, err = m.lastStored(ctx); err != nil {
			return 0, err
		}
	}
	type pending struct {
		pos int64
		f   jetstream.PubAckFuture
	}
	var (
		waits  []pending
		pubErr error
	)
	for i := range evs {
		r := &evs[i]
		if r.Position <= m.stored {
			handled = r.Position
			continue
		}
		body, merr := json.Marshal(NewCloudEvent(r, m.opts.Source))
		if merr != nil {
			pubErr = merr
			break
		}
		msg := nats.NewMsg(AuditSubjectPrefix + r.Type)
		msg.Data = body
		msg.Header.Set("Content-Type", "application/cloudevents+json")
		msg.Header.Set(HeaderPosition, strconv.FormatInt(r.Position, 10))
		f, perr := m.js.PublishMsgAsync(msg, jetstream.WithMsgID(r.EventID.String()))
		if perr != nil {
			pubErr = perr
			break
		}
		waits = append(waits, pending{r.Position, f})
	}
	timeout := time.NewTimer(10 * time.Second)
	defer timeout.Stop()
	for _, w := range waits {
		select {
		case <-w.f.Ok():
			handled, m.stored = w.pos, w.pos
		case aerr := <-w.f.Err():
			return handled, aerr
		case <-timeout.C:
			return handled, errors.New("audit mirror: publish acknowledgement timed out")
		case <-ctx.Done():
			return handled, ctx.Err()
		}
	}
	return handled, pubErr
}
