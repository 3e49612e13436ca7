package app

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/sessiond/sessiond/domain"
	"github.com/sessiond/sessiond/eventstore"
)

// Signer signs checkpoint payloads (tokens.Issuer).
type Signer interface {
	SignJWS(payload []byte) (string, error)
	SigningKeyID() string
}

// CheckpointPayload is what a checkpoint's JWS signs.
type CheckpointPayload struct {
	Type     string    `json:"typ"` // "sessiond-audit-checkpoint"
	Issuer   string    `json:"iss"`
	Position int64     `json:"position"`
	Hash     string    `json:"hash"`
	SignedAt time.Time `json:"signedAt"`
}

// CheckpointType is CheckpointPayload.Type.
const CheckpointType = "sessiond-audit-checkpoint"

// CheckpointLog is what the checkpointer reads and appends to.
type CheckpointLog interface {
	Log
	Head(ctx context.Context) (int64, []byte, error)
}

// Checkpointer appends an AuditCheckpoint once Every events were recorded
// or, when any were, every Interval (checked every Poll). Several instances may run: appends use
// the checkpoint stream's version, so only one wins each round.
type Checkpointer struct {
	Log      CheckpointLog
	Signer   Signer
	Issuer   string
	Every    int64         // default 1000
	Interval time.Duration // default 10m
	Poll     time.Duration // how often to check; default 1s
	Clock    func() time.Time
	Logger   *slog.Logger

	started time.Time // the interval of the first checkpoint runs from here
	last    *domain.AuditCheckpoint
	lastPos int64 // position of the last checkpoint event
	version int64
	loaded  bool
}

// Run checks every Poll until ctx ends. It polls rather than waking on
// every commit, so the append path pays nothing for checkpoints.
func (c *Checkpointer) Run(ctx context.Context) {
	if c.Every <= 0 {
		c.Every = 1000
	}
	if c.Interval <= 0 {
		c.Interval = 10 * time.Minute
	}
	if c.Clock == nil {
		c.Clock = time.Now
	}
	c.started = c.Clock().UTC()
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Poll <= 0 {
		c.Poll = time.Second
	}
	tick := time.NewTicker(c.Poll)
	defer tick.Stop()
	for {
		if _, err := c.Maybe(ctx); err != nil && ctx.Err() == nil {
			c.Logger.Warn("audit checkpoint", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// Maybe appends a checkpoint if one is due and returns it.
func (c *Checkpointer) Maybe(ctx context.Context) (*domain.AuditCheckpoint, error) {
	if !c.loaded {
		if err := c.load(ctx); err != nil {
			return nil, err
		}
	}
	head, hash, err := c.Log.Head(ctx)
	if err != nil {
		return nil, err
	}
	now := c.Clock().UTC()
	if c.started.IsZero() {
		c.started = now
	}
	lastAt := c.started
	if c.last != nil {
		lastAt = c.last.SignedAt
	}
	if !domain.CheckpointDue(head, c.lastPos, lastAt, now, c.Every, c.Interval) {
		return nil, nil
	}
	cp, err := SignCheckpoint(c.Signer, c.Issuer, head, hash, now)
	if err != nil {
		return nil, err
	}
	typ, data, err := domain.EncodeEvent(cp)
	if err != nil {
		return nil, err
	}
	meta, _ := json.Marshal(Meta{RequestID: "checkpoint", UserAgent: "sessiond-checkpointer"})
	recs, err := c.Log.Append(ctx, eventstore.StreamAppend{StreamID: domain.CheckpointStream, ExpectedVersion: c.version,
		Events: []eventstore.Proposed{{Type: typ, Data: data, Metadata: meta}}})
	if errors.Is(err, eventstore.ErrConflict) {
		c.loaded = false // another instance signed; reload next time
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	c.last, c.lastPos, c.version = &cp, recs[0].Position, recs[0].StreamVersion
	c.Logger.Info("audit checkpoint signed", "position", cp.Position, "hash", cp.Hash, "keyId", cp.KeyID)
	return &cp, nil
}

func (c *Checkpointer) load(ctx context.Context) error {
	recs, err := c.Log.ReadStream(ctx, domain.CheckpointStream)
	if err != nil {
		return err
	}
	c.last, c.lastPos, c.version = nil, 0, int64(len(recs))
	if n := len(recs); n > 0 {
		e, err := domain.DecodeEvent(recs[n-1].Type, recs[n-1].Data)
		if err != nil {
			return err
		}
		cp := e.(domain.AuditCheckpoint)
		c.last, c.lastPos = &cp, recs[n-1].Position
	}
	c.loaded = true
	return nil
}

// SignCheckpoint signs the hash at position.
func SignCheckpoint(s Signer, issuer string, position int64, hash []byte, now time.Time) (domain.AuditCheckpoint, error) {
	p := CheckpointPayload{Type: CheckpointType, Issuer: issuer, Position: position, Hash: hex.EncodeToString(hash), SignedAt: now.UTC()}
	payload, err := json.Marshal(p)
	if err != nil {
		return domain.AuditCheckpoint{}, err
	}
	jws, err := s.SignJWS(payload)
	if err != nil {
		return domain.AuditCheckpoint{}, fmt.Errorf("sign checkpoint: %w", err)
	}
	return domain.AuditCheckpoint{Position: position, Hash: p.Hash, SignedAt: p.SignedAt, KeyID: s.SigningKeyID(), Signature: jws}, nil
}
