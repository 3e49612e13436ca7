package server

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/sessiond/sessiond/api"
	"github.com/sessiond/sessiond/broadcast"
	"github.com/sessiond/sessiond/console"
	"github.com/sessiond/sessiond/internal/adminoidc"
	"github.com/sessiond/sessiond/internal/app"
	"github.com/sessiond/sessiond/internal/auditkey"
	"github.com/sessiond/sessiond/witness"
)

// withConsole serves the web console at /console/ beside the API, and
// returns the function that stops its session sweeper.
func withConsole(apiHandler http.Handler, svc *app.Service, store Store, bd api.Broadcaster, verify func(context.Context) (app.VerifyOptions, error), witnesses func(context.Context) ([]app.WitnessCopy, error), idle time.Duration, signIn consoleSignIn, log *slog.Logger) (http.Handler, func()) {
	var idp console.IdP
	if signIn.login != nil { // a nil *adminoidc.Login must stay a nil interface
		idp = signIn.login
	}
	c := console.New(console.Options{
		IdP:         idp,
		RedirectURL: signIn.redirectURL,
		NoKeySignIn: !signIn.keys,
		Denials:     signIn.denials,
		Service:     svc,
		Audit:       app.NewAudit(store),
		Broadcaster: bd,
		BroadcastPosition: func(ctx context.Context) (int64, error) {
			return store.LoadCheckpoint(ctx, broadcast.CheckpointName)
		},
		Verify:      console.DefaultVerify(store, verify),
		Witnesses:   witnesses,
		IdleTimeout: idle,
		Logger:      log,
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		c.Run(ctx)
	}()
	mux := http.NewServeMux()
	mux.Handle(console.Prefix, c)
	mux.Handle("/console", http.RedirectHandler(console.Prefix, http.StatusMovedPermanently))
	mux.Handle("/", apiHandler)
	return mux, func() { cancel(); <-done }
}

// consoleSignIn is how people sign in to the console.
type consoleSignIn struct {
	login       *adminoidc.Login // nil: no identity provider
	redirectURL string
	keys        bool // admin keys too
	denials     console.Denials
}

// consoleVerifyOptions is what the console's "verify now" checks: what
// `sessiond audit verify` checks on this host, trusting this server's own
// audit key, with the session-token keys for checkpoints older than the
// audit key, the witnesses (the NATS stream, and the witness dir when one
// is set), the read model and the personal data.
func (m *Main) consoleVerifyOptions(db *backend, audit auditkey.Keys, tokenJWKS []byte, witnesses func(context.Context) ([]app.WitnessCopy, error)) func(context.Context) (app.VerifyOptions, error) {
	return func(ctx context.Context) (app.VerifyOptions, error) {
		o := app.VerifyOptions{Now: time.Now(), Anchors: audit,
			Policy: app.Policy{Every: m.Config.CheckpointEvery, Interval: m.Config.CheckpointInterval, Grace: time.Minute}}
		if legacy, err := auditkey.ParseJWKS(tokenJWKS); err == nil {
			o.Legacy = legacy
		}
		// A witness that cannot be read is left out here; the integrity page
		// says which and why.
		o.Witnesses, _ = witnesses(ctx)
		if rows, ok := db.reads.(app.ModelRows); ok {
			o.Model, o.Personal = rows, db.store
		}
		return o, nil
	}
}

// trustOnly is a key set holding one key.
func trustOnly(pub ed25519.PublicKey) auditkey.Keys {
	k := auditkey.Keys{}
	k.Add(pub)
	return k
}

// consoleWitnesses reads what the witnesses hold for the integrity page:
// the JetStream stream on the NATS sessiond broadcasts to, and the witness
// dir when one is set.
func (m *Main) consoleWitnesses(natsURL string) func(context.Context) ([]app.WitnessCopy, error) {
	return func(ctx context.Context) ([]app.WitnessCopy, error) {
		var out []app.WitnessCopy
		var errs []error
		first, _, _ := strings.Cut(natsURL, ",")
		if cps, err := readNATSWitness(ctx, strings.TrimSpace(first)); err == nil {
			out = append(out, app.WitnessCopy{Name: "NATS stream " + witness.StreamName, Checkpoints: cps})
		} else {
			errs = append(errs, fmt.Errorf("NATS stream %s: %v", witness.StreamName, err))
		}
		if d := m.Config.WitnessDir; d != "" {
			if cps, err := witness.ReadDir(d); err == nil {
				out = append(out, app.WitnessCopy{Name: "witness dir " + d, Checkpoints: cps})
			} else {
				errs = append(errs, fmt.Errorf("witness dir %s: %v", d, err))
			}
		}
		return out, errors.Join(errs...)
	}
}
