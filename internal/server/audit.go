package server

import (
	"bufio"
	"context"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/sessiond/sessiond/api"
	"github.com/sessiond/sessiond/domain"
	"github.com/sessiond/sessiond/eventstore"
	"github.com/sessiond/sessiond/internal/app"
	"github.com/sessiond/sessiond/internal/tokens"
)

// runAudit is the auditors' CLI. It reads the database directly, so a
// reviewer with read access and no admin key can use it.
func (m *Main) runAudit(ctx context.Context, args []string) error {
	if len(args) > 0 && (args[0] == "-h" || args[0] == "--help") {
		fmt.Fprint(m.Stdout, usage)
		return nil
	}
	if len(args) == 0 {
		return &ExitError{Code: 2, Err: errors.New("audit needs a subcommand: verify, export or erase-personal")}
	}
	switch args[0] {
	case "verify":
		return m.auditVerify(ctx, args[1:])
	case "export":
		return m.auditExport(ctx, args[1:])
	case "erase-personal":
		return m.auditErase(ctx, args[1:])
	}
	return &ExitError{Code: 2, Err: fmt.Errorf("unknown audit subcommand %q: want verify, export or erase-personal", args[0])}
}

// multiFlag collects a repeatable flag.
type multiFlag []string

func (f *multiFlag) String() string     { return strings.Join(*f, ",") }
func (f *multiFlag) Set(v string) error { *f = append(*f, v); return nil }

func (m *Main) auditVerify(ctx context.Context, args []string) error {
	var (
		from, to    int64
		expect      string
		jwksSource  string
		checkpoints multiFlag
	)
	if _, err := m.flags("audit verify", "sessiond audit verify [--from P] [--to Q] [--expect-hash H] [--checkpoint JWS|@FILE] [--jwks FILE|URL] [flags]", args, func(fs *flag.FlagSet) {
		fs.Int64Var(&from, "from", 1, "first position to check")
		fs.Int64Var(&to, "to", 0, "last position to check (0: the head)")
		fs.StringVar(&expect, "expect-hash", "", "hex hash recorded earlier for position --to (or the head): fail unless the log still has it")
		fs.Var(&checkpoints, "checkpoint", "a signed checkpoint (JWS) recorded earlier, or @file holding one; repeatable")
		fs.StringVar(&jwksSource, "jwks", "", "public keys (JWKS file or http(s) URL) to check checkpoint signatures; default: the configured signing keys")
	}); err != nil {
		return err
	}
	jwks, err := m.loadJWKS(ctx, jwksSource)
	if err != nil {
		return fmt.Errorf("--jwks: %w", err)
	}
	var external []string
	for _, c := range checkpoints {
		if strings.HasPrefix(c, "@") {
			b, err := os.ReadFile(c[1:])
			if err != nil {
				return fmt.Errorf("--checkpoint: %w", err)
			}
			c = strings.TrimSpace(string(b))
		}
		external = append(external, c)
	}
	if len(external) > 0 && len(jwks) == 0 {
		return &ExitError{Code: 2, Err: errors.New("--checkpoint needs public keys: --jwks FILE|URL (or run where the signing keys are configured)")}
	}
	var (
		res eventstore.VerifyResult
		rep app.CheckpointReport
	)
	err = m.withService(ctx, func(svc *app.Service, store Store) error {
		var err error
		if res, err = store.Verify(ctx, from, to); err == nil && res.Broken == nil {
			rep, err = app.VerifyCheckpoints(ctx, store, jwks, external, res.To)
		}
		if err != nil {
			return err
		}
		return recordCLIRead(ctx, svc, verifyRead(from, to, res, rep))
	})
	if err != nil {
		return fmt.Errorf("verify: %w", err)
	}
	broken := res.Broken
	if broken == nil {
		broken = rep.Broken
	}
	if broken == nil && expect != "" && !strings.EqualFold(hex.EncodeToString(res.HeadHash), strings.TrimSpace(expect)) {
		broken = &eventstore.Break{Position: res.To, Reason: fmt.Sprintf("hash %x is not the expected %s: the log up to %d differs from what was recorded", res.HeadHash, expect, res.To)}
	}
	if broken != nil {
		fmt.Fprintf(m.Stdout, "BROKEN at position %d: %s\n", broken.Position, broken.Reason)
		return &ExitError{Code: 1, Err: broken}
	}
	fmt.Fprintf(m.Stdout, "OK: %d events verified (positions %d to %d), head hash %x\n", res.Checked, res.From, res.To, res.HeadHash)
	signed := "signatures checked"
	if rep.Unsigned {
		signed = "signatures NOT checked: no keys (--jwks)"
	}
	fmt.Fprintf(m.Stdout, "checkpoints: %d in the log, %d given, all match (%s)\n", rep.InLog, rep.External, signed)
	return nil
}

// loadJWKS reads public keys from a file or URL, or derives them from the
// configured signing keys without generating any.
func (m *Main) loadJWKS(ctx context.Context, source string) ([]byte, error) {
	switch {
	case strings.HasPrefix(source, "http://"), strings.HasPrefix(source, "https://"):
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
			return nil, fmt.Errorf("%s: %s", source, resp.Status)
		}
		return io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	case source != "":
		return os.ReadFile(source)
	}
	var keys []tokens.Key
	if m.Config.SigningKeys == "" {
		k, err := tokens.LoadKeyFile(filepath.Join(m.Config.DataDir, "signing-key.pem"))
		if err != nil {
			return nil, nil // none here: signatures are not checked
		}
		keys = []tokens.Key{k}
	} else {
		var err error
		if keys, err = m.signingKeys(); err != nil {
			return nil, err
		}
	}
	iss, err := tokens.NewIssuer(m.Config.Issuer, m.Config.Audience, keys)
	if err != nil {
		return nil, err
	}
	return iss.JWKS(), nil
}

func (m *Main) auditExport(ctx context.Context, args []string) error {
	var (
		f           eventstore.Filter
		from, to    string
		format, out string
	)
	if _, err := m.flags("audit export", "sessiond audit export [--user ID] [--session ID] [--type T] [--actor A] [--from T] [--to T] [--format csv|ndjson] [--out FILE] [flags]", args, func(fs *flag.FlagSet) {
		fs.StringVar(&f.UserID, "user", "", "only events of this user")
		fs.StringVar(&f.SessionID, "session", "", "only events of this session")
		fs.StringVar(&f.Type, "type", "", "only events of this type, e.g. SessionRevoked")
		fs.StringVar(&f.Actor, "actor", "", "only events by this admin key (id or name)")
		fs.StringVar(&from, "from", "", "recorded at or after this RFC 3339 time")
		fs.StringVar(&to, "to", "", "recorded before this RFC 3339 time")
		fs.Int64Var(&f.AfterPosition, "after-position", 0, "only events after this position")
		fs.StringVar(&format, "format", "csv", "csv or ndjson")
		fs.StringVar(&out, "out", "-", "file to write (- for stdout)")
	}); err != nil {
		return err
	}
	for name, v := range map[string]struct {
		text string
		dst  *time.Time
	}{"--from": {from, &f.From}, "--to": {to, &f.To}} {
		if v.text == "" {
			continue
		}
		t, err := time.Parse(time.RFC3339Nano, v.text)
		if err != nil {
			return &ExitError{Code: 2, Err: fmt.Errorf("%s: want an RFC 3339 time, e.g. 2026-03-01T14:03:00Z", name)}
		}
		*v.dst = t
	}
	if f.UserID != "" {
		if err := domain.ValidateUserID(f.UserID); err != nil {
			return &ExitError{Code: 2, Err: fmt.Errorf("--user: %s", domain.ErrorMessage(err))}
		}
	}
	if format != "csv" && format != "ndjson" {
		return &ExitError{Code: 2, Err: fmt.Errorf("--format: %q is not csv or ndjson", format)}
	}
	w, done, err := m.createOutput("--out", out)
	if err != nil {
		return err
	}
	defer done()
	bw := bufio.NewWriterSize(w, 1<<16)
	media := map[string]string{"csv": api.MediaCSV, "ndjson": api.MediaNDJSON}[format]
	var n int
	err = m.withService(ctx, func(svc *app.Service, store Store) error {
		var err error
		n, err = api.Export(ctx, app.NewAudit(store), f, media, bw, func() error { return nil }, func() error { return nil })
		if rerr := recordCLIRead(ctx, svc, domain.AuditRead{Operation: "export", Filters: api.FilterMap(f), Format: format, Rows: int64(n), Complete: err == nil}); err == nil {
			err = rerr
		}
		return err
	})
	if err == nil {
		err = bw.Flush()
	}
	if err == nil {
		err = done()
	}
	if err != nil {
		return fmt.Errorf("audit export: %w", err)
	}
	fmt.Fprintf(m.Stderr, "exported %d events\n", n)
	return nil
}

// auditErase erases personal data (source IPs, user agents) kept beside
// the log. The events keep their salted references, so the chain still
// verifies; the values are gone.
func (m *Main) auditErase(ctx context.Context, args []string) error {
	var before, actor string
	if _, err := m.flags("audit erase-personal", "sessiond audit erase-personal [--before T] [--actor KEYID] [flags]", args, func(fs *flag.FlagSet) {
		fs.StringVar(&before, "before", "", "erase personal data recorded before this RFC 3339 time (e.g. 90 days ago)")
		fs.StringVar(&actor, "actor", "", "erase personal data of this admin key's requests")
	}); err != nil {
		return err
	}
	var e eventstore.Erasure
	e.ActorKeyID = actor
	if before != "" {
		t, err := time.Parse(time.RFC3339Nano, before)
		if err != nil {
			return &ExitError{Code: 2, Err: errors.New("--before: want an RFC 3339 time, e.g. 2026-03-01T00:00:00Z")}
		}
		e.Before = t
	}
	if e.Before.IsZero() && e.ActorKeyID == "" {
		return &ExitError{Code: 2, Err: errors.New("erase-personal needs --before or --actor")}
	}
	var n int64
	err := m.withService(ctx, func(svc *app.Service, store Store) error {
		var err error
		n, err = svc.ErasePersonal(ctx, cliMeta(), store, e, "cli", "")
		return err
	})
	if err != nil {
		return fmt.Errorf("erase-personal: %w", err)
	}
	fmt.Fprintf(m.Stdout, "erased %d personal data items; the erasure is recorded in the log (PersonalDataErased)\n", n)
	return nil
}
