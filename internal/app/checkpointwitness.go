package app

import (
	"context"
	"log/slog"
	"time"

	"github.com/sessiond/sessiond/domain"
	"github.com/sessiond/sessiond/eventstore"
)

// Witness keeps checkpoints outside the database (witness.NATS,
// witness.Dir).
type Witness interface {
	Name() string
	// Witness stores one checkpoint JWS; id (the checkpoint event's id)
	// lets it drop a retried copy.
	Witness(ctx context.Context, id, jws string) error
}

// WitnessLog is what a WitnessRunner reads: the checkpoint events (by the
// type index) and its own position in the consumer table.
type WitnessLog interface {
	Query(ctx context.Context, f eventstore.Filter, fn func(*eventstore.Recorded) error) error
	LoadCheckpoint(ctx context.Context, name string) (int64, error)
	SaveCheckpoint(ctx context.Context, name string, position int64) error
}

// witnessTimeout bounds one witness write, so a hung witness delays only
// its own runner.
const witnessTimeout = 10 * time.Second

// WitnessRunner hands every AuditCheckpoint to a witness, in position
// order. The log is the outbox: its position (consumer Name) advances
// only past checkpoints the witness accepted, so one that could not be
// witnessed is retried every Poll. It reads only checkpoint events, once
// a Poll, and never touches the append path.
type WitnessRunner struct {
	Name    string // consumer name, e.g. "audit-witness-nats"
	Log     WitnessLog
	Witness Witness
	Poll    time.Duration // default 1s
	Logger  *slog.Logger
}

// Run witnesses until ctx ends.
func (w *WitnessRunner) Run(ctx context.Context) {
	if w.Poll <= 0 {
		w.Poll = time.Second
	}
	if w.Logger == nil {
		w.Logger = slog.Default()
	}
	tick := time.NewTicker(w.Poll)
	defer tick.Stop()
	failing := false
	for {
		err := w.Step(ctx)
		switch {
		case err != nil && ctx.Err() == nil && !failing:
			failing = true
			w.Logger.Warn("audit checkpoint not witnessed yet; retrying every poll", "witness", w.Witness.Name(), "err", err)
		case err == nil && failing:
			failing = false
			w.Logger.Info("audit checkpoints witnessed again", "witness", w.Witness.Name())
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// Step witnesses the checkpoints recorded since the last Step.
func (w *WitnessRunner) Step(ctx context.Context) error {
	pos, err := w.Log.LoadCheckpoint(ctx, w.Name)
	if err != nil {
		return err
	}
	var todo []eventstore.Recorded
	if err := w.Log.Query(ctx, eventstore.Filter{Type: domain.TypeAuditCheckpoint, AfterPosition: pos, Limit: 1000}, func(r *eventstore.Recorded) error {
		todo = append(todo, *r)
		return nil
	}); err != nil {
		return err
	}
	for _, r := range todo {
		e, err := domain.DecodeEvent(r.Type, r.Data)
		if err != nil {
			return err
		}
		wctx, cancel := context.WithTimeout(ctx, witnessTimeout)
		err = w.Witness.Witness(wctx, r.EventID.String(), e.(domain.AuditCheckpoint).Signature)
		cancel()
		if err != nil {
			return err
		}
		if err := w.Log.SaveCheckpoint(ctx, w.Name, r.Position); err != nil {
			return err
		}
	}
	return nil
}
