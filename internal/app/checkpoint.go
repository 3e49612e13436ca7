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
	"github.com/sessiond/sessiond/internal/auditkey"
)

// CheckpointPayload is what a checkpoint's JWS signs.
type CheckpointPayload struct {
	Type     string                 `json:"typ"` // "sessiond-audit-checkpoint"
	Issuer   string                 `json:"iss"`
	Position int64                  `json:"position"`
	Hash     string                 `json:"hash"`
	SignedAt time.Time              `json:"signedAt"`
	Previous *domain.CheckpointLink `json:"prev,omitempty"`
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
// the checkpoint stream's version, so only one wins each round. Each
// checkpoint names the one before it. The first time it signs, it
// introduces its key into the log if the log has no audit key yet.
type Checkpointer struct {
	Log      CheckpointLog
	Signer   auditkey.Signer
	Issuer   string
	Every    int64         // default 1000
	Interval time.Duration // default 10m
	Poll     time.Duration // how often to check; default 1s
	Clock    func() time.Time
	Logger   *slog.Logger

	started time.Time // the interval of the first checkpoint runs from here
	last    *domain.AuditCheckpoint
	link    domain.CheckpointLink // names the last checkpoint event
	version int64
	loaded  bool
	keyOK   bool
}

// Run checks every Poll until ctx ends. It polls rather than waking on
// every commit, so the append path pays nothing for checkpoints.
func (c *Checkpointer) Run(ctx context.Context) {
	c.defaults()
	tick := time.NewTicker(c.Poll)
	defer tick.Stop()
	lastErr := ""
	for {
		_, err := c.Maybe(ctx)
		switch {
		case err != nil && ctx.Err() == nil && err.Error() != lastErr:
			lastErr = err.Error()
			c.Logger.Error("audit checkpoint not signed; retrying every poll", "err", err)
		case err == nil && lastErr != "":
			lastErr = ""
			c.Logger.Info("audit checkpoints signed again")
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

func (c *Checkpointer) defaults() {
	if c.Every <= 0 {
		c.Every = 1000
	}
	if c.Interval <= 0 {
		c.Interval = 10 * time.Minute
	}
	if c.Clock == nil {
		c.Clock = time.Now
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Poll <= 0 {
		c.Poll = time.Second
	}
	if c.started.IsZero() {
		c.started = c.Clock().UTC()
	}
}

// Maybe appends a checkpoint if one is due and returns it.
func (c *Checkpointer) Maybe(ctx context.Context) (*domain.AuditCheckpoint, error) {
	c.defaults()
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
	lastAt := c.started
	if c.last != nil {
		lastAt = c.last.SignedAt
	}
	if !domain.CheckpointDue(head, c.link.EventPosition, lastAt, now, c.Every, c.Interval) {
		return nil, nil
	}
	if !c.keyOK {
		if err := EnsureAuditKey(ctx, c.Log, c.Signer, now); err != nil {
			return nil, err
		}
		c.keyOK = true
		if head, hash, err = c.Log.Head(ctx); err != nil {
			return nil, err
		}
	}
	link := c.link
	cp, err := SignCheckpoint(ctx, c.Signer, c.Issuer, head, hash, &link, now)
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
	c.remember(cp, recs[0])
	c.Logger.Info("audit checkpoint signed", "position", cp.Position, "hash", cp.Hash, "keyId", cp.KeyID)
	return &cp, nil
}

func (c *Checkpointer) remember(cp domain.AuditCheckpoint, r eventstore.Recorded) {
	c.last, c.version = &cp, r.StreamVersion
	c.link = domain.CheckpointLink{EventPosition: r.Position, EventHash: hex.EncodeToString(r.Hash), KeyID: cp.KeyID}
}

func (c *Checkpointer) load(ctx context.Context) error {
	recs, err := c.Log.ReadStream(ctx, domain.CheckpointStream)
	if err != nil {
		return err
	}
	c.last, c.link, c.version = nil, domain.CheckpointLink{}, 0
	if n := len(recs); n > 0 {
		e, err := domain.DecodeEvent(recs[n-1].Type, recs[n-1].Data)
		if err != nil {
			return err
		}
		c.remember(e.(domain.AuditCheckpoint), recs[n-1])
	}
	c.loaded = true
	return nil
}

// SignCheckpoint signs the hash at position, linked to the previous
// checkpoint event (EventPosition 0: none).
func SignCheckpoint(ctx context.Context, s auditkey.Signer, issuer string, position int64, hash []byte, prev *domain.CheckpointLink, now time.Time) (domain.AuditCheckpoint, error) {
	p := CheckpointPayload{Type: CheckpointType, Issuer: issuer, Position: position, Hash: hex.EncodeToString(hash), SignedAt: now.UTC(), Previous: prev}
	payload, err := json.Marshal(p)
	if err != nil {
		return domain.AuditCheckpoint{}, err
	}
	jws, err := auditkey.SignJWS(ctx, s, payload)
	if err != nil {
		return domain.AuditCheckpoint{}, fmt.Errorf("sign checkpoint: %w", err)
	}
	return domain.AuditCheckpoint{Position: position, Hash: p.Hash, SignedAt: p.SignedAt, KeyID: s.KeyID(), Signature: jws, Previous: prev}, nil
}
