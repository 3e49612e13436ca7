package server

import (
	"context"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/sessiond/sessiond/eventstore"
	"github.com/sessiond/sessiond/internal/app"
	"github.com/sessiond/sessiond/internal/auditkey"
	"github.com/sessiond/sessiond/witness"
)

// multiFlag collects a repeatable flag.
type multiFlag []string

func (f *multiFlag) String() string     { return strings.Join(*f, ",") }
func (f *multiFlag) Set(v string) error { *f = append(*f, v); return nil }

// verifyFlags are the configuration settings audit verify uses, with what
// they mean to it ("": as for serve).
var verifyFlags = map[string]string{
	"database-url": "", "data-dir": "", "log-level": "",
	"audit-key-file":      "audit key file; its public key is trusted when readable (verify never creates one) (SESSIOND_AUDIT_KEY_FILE)",
	"witness-dir":         "witness directory, or a copy of one, to check the log against (SESSIOND_WITNESS_DIR)",
	"checkpoint-every":    "policy: a checkpoint is due after this many events (default 1000) (SESSIOND_CHECKPOINT_EVERY)",
	"checkpoint-interval": "policy: a checkpoint is due this long after the last while events arrive (default 10m) (SESSIOND_CHECKPOINT_INTERVAL)",
}

// verifyArgs are audit verify's own flags.
type verifyArgs struct {
	from, to      int64
	expect        string
	checkpoints   multiFlag
	auditKeys     multiFlag
	jwks          string
	allowUnsigned bool
	witnesses     multiFlag
	grace         time.Duration
	logOnly       bool
	format        string
	quiet         bool
}

func (m *Main) auditVerify(ctx context.Context, args []string) error {
	var a verifyArgs
	if _, err := m.flags("audit verify", "sessiond audit verify [flags]", args, func(fs *flag.FlagSet) {
		fs.Int64Var(&a.from, "from", 1, "first position to check")
		fs.Int64Var(&a.to, "to", 0, "last position to check (0: the head)")
		fs.StringVar(&a.expect, "expect-hash", "", "hex hash recorded earlier for position --to (or the head): fail unless the log still has it")
		fs.Var(&a.checkpoints, "checkpoint", "a signed checkpoint (JWS) kept earlier, or @file holding one; repeatable")
		fs.Var(&a.auditKeys, "audit-keys", "audit public keys you trust: a JWKS file or http(s) URL (/.well-known/sessiond-audit-keys.json) kept earlier; repeatable. The key in --audit-key-file, when readable, is trusted too")
		fs.StringVar(&a.jwks, "jwks", "", "session-token JWKS (file or URL), only for checkpoints signed before audit keys existed")
		fs.BoolVar(&a.allowUnsigned, "allow-unsigned", false, "exit 0 even when no trusted audit key is at hand to check signatures")
		fs.Var(&a.witnesses, "witness", "nats://host:port of a NATS holding the AUDIT_CHECKPOINTS stream, or nats://host:port/STREAM for a mirror or copy by another name; repeatable")
		fs.DurationVar(&a.grace, "checkpoint-grace", time.Minute, "how late a checkpoint may follow once --checkpoint-every events or --checkpoint-interval passed without one")
		fs.BoolVar(&a.logOnly, "log-only", false, "check only the log: skip the read model and the personal data")
		fs.StringVar(&a.format, "format", "text", "text or json")
		fs.BoolVar(&a.quiet, "quiet", false, quietUsage)
	}); err != nil {
		return err
	}
	if a.format != "text" && a.format != "json" {
		return &ExitError{Code: 2, Err: fmt.Errorf("--format: %q is not text or json", a.format)}
	}
	opts := app.VerifyOptions{From: a.from, To: a.to, Now: time.Now(), Anchors: auditkey.Keys{},
		Policy: app.Policy{Every: m.Config.CheckpointEvery, Grace: a.grace, Interval: m.Config.CheckpointInterval}}
	if err := m.verifyInputs(ctx, &a, &opts); err != nil {
		return err
	}
	db, err := m.openBackend(ctx, true, eventstore.Options{Logger: m.Logger})
	if err != nil {
		return err
	}
	defer db.Close()
	if !a.logOnly {
		rows, ok := db.reads.(app.ModelRows)
		if !ok {
			return errors.New("verify: this store's read model cannot be listed")
		}
		opts.Model, opts.Personal = rows, db.store
	}
	var bar *meter
	from := max(a.from, 1)
	opts.Progress = func(reached, last int64) {
		if bar == nil {
			bar = m.newMeter(a.quiet, "audit verify", last-from+1)
		}
		bar.set(reached - from + 1)
	}
	rep, err := app.VerifyAudit(ctx, db.store, opts)
	bar.finish()
	if err != nil {
		return fmt.Errorf("verify: %w", err)
	}
	// Who verified, and what they found, goes into the log too.
	if err := recordCLIRead(ctx, app.New(db.store, db.reads, nil, m.Logger), verifyRead(a.from, a.to, rep)); err != nil {
		return fmt.Errorf("verify: %w", err)
	}
	if a.expect != "" && !strings.EqualFold(hex.EncodeToString(rep.Chain.HeadHash), strings.TrimSpace(a.expect)) {
		rep.Breaks = append(rep.Breaks, eventstore.Break{Position: rep.Chain.To, Kind: eventstore.BreakSigned, From: 1, To: rep.Chain.To,
			Reason: fmt.Sprintf("hash %x is not the expected %s: the log up to %d differs from what was recorded", rep.Chain.HeadHash, a.expect, rep.Chain.To)})
	}
	return m.printVerify(rep, a)
}

// verifyInputs gathers what the auditor brought: trusted keys,
// checkpoints kept, witnesses.
func (m *Main) verifyInputs(ctx context.Context, a *verifyArgs, o *app.VerifyOptions) error {
	for _, src := range a.auditKeys {
		doc, err := fetchDoc(ctx, src)
		if err != nil {
			return fmt.Errorf("--audit-keys %s: %w", src, err)
		}
		keys, err := auditkey.ParseJWKS(doc)
		if err != nil {
			return fmt.Errorf("--audit-keys %s: %w", src, err)
		}
		for _, pub := range keys {
			o.Anchors.Add(pub)
		}
	}
	if s, err := auditkey.LoadFile(m.Config.auditKeyPath()); err == nil {
		o.Anchors.Add(s.Public())
	} else if !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("--audit-key-file (SESSIOND_AUDIT_KEY_FILE): %w", err)
	}
	if a.jwks != "" {
		doc, err := fetchDoc(ctx, a.jwks)
		if err != nil {
			return fmt.Errorf("--jwks %s: %w", a.jwks, err)
		}
		if o.Legacy, err = auditkey.ParseJWKS(doc); err != nil {
			return fmt.Errorf("--jwks %s: %w", a.jwks, err)
		}
	}
	for _, c := range a.checkpoints {
		if strings.HasPrefix(c, "@") {
			b, err := os.ReadFile(c[1:])
			if err != nil {
				return fmt.Errorf("--checkpoint: %w", err)
			}
			c = strings.TrimSpace(string(b))
		}
		o.External = append(o.External, c)
	}
	for _, w := range a.witnesses {
		cps, err := readNATSWitness(ctx, w)
		if err != nil {
			return fmt.Errorf("--witness %s: %w", w, err)
		}
		o.Witnesses = append(o.Witnesses, app.WitnessCopy{Name: "witness " + w, Checkpoints: cps})
	}
	if d := m.Config.WitnessDir; d != "" {
		cps, err := witness.ReadDir(d)
		if err != nil {
			return fmt.Errorf("--witness-dir: %w", err)
		}
		o.Witnesses = append(o.Witnesses, app.WitnessCopy{Name: "witness dir " + d, Checkpoints: cps})
	}
	return nil
}

// readNATSWitness reads the witness stream at nats://host:port, or the
// stream named by the URL's path (an auditor's mirror or copy).
func readNATSWitness(ctx context.Context, raw string) ([]string, error) {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return nil, errors.New("want nats://host:port or nats://host:port/STREAM")
	}
	stream := strings.Trim(u.Path, "/")
	u.Path = ""
	nc, err := nats.Connect(u.String(), nats.Name("sessiond-audit-verify"), nats.Timeout(5*time.Second))
	if err != nil {
		return nil, fmt.Errorf("cannot connect to the witness NATS: %v", err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	return witness.ReadNATS(ctx, js, stream)
}

// fetchDoc reads a file or an http(s) URL (at most 1 MiB).
func fetchDoc(ctx context.Context, source string) ([]byte, error) {
	if !strings.HasPrefix(source, "http://") && !strings.HasPrefix(source, "https://") {
		return os.ReadFile(source)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, source, nil)
	if err != nil {
		return nil, err
	}
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s answered %s", source, resp.Status)
	}
	return io.ReadAll(io.LimitReader(resp.Body, 1<<20))
}
