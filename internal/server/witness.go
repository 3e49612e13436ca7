package server

import (
	"context"
	"log/slog"
	"sync"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/sessiond/sessiond/internal/app"
	"github.com/sessiond/sessiond/witness"
)

// startWitnesses runs one WitnessRunner per witness:
// the JetStream stream AUDIT_CHECKPOINTS on nc, and --witness-dir when
// set. It returns a function that stops them.
func (m *Main) startWitnesses(db *backend, nc *nats.Conn, log *slog.Logger) (func(), error) {
	type consumer struct {
		name string // its checkpoint in the log's consumer table
		w    app.Witness
	}
	js, err := jetstream.New(nc)
	if err != nil {
		return nil, err
	}
	ws := []consumer{{"audit-witness-nats", &witness.NATS{JS: js}}}
	if m.Config.WitnessDir != "" {
		ws = append(ws, consumer{"audit-witness-dir", &witness.Dir{Path: m.Config.WitnessDir}})
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for _, w := range ws {
		r := &app.WitnessRunner{Name: w.name, Log: db.store, Witness: w.w, Logger: log.With("subsystem", "witness")}
		wg.Add(1)
		go func() {
			defer wg.Done()
			r.Run(ctx)
		}()
	}
	return func() { cancel(); wg.Wait() }, nil
}
