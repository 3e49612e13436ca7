package server

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"time"

	"github.com/sessiond/sessiond/domain"
	"github.com/sessiond/sessiond/eventstore"
	"github.com/sessiond/sessiond/internal/app"
)

// runAudit is the auditors' CLI. It reads the database directly, so a
// reviewer with read access and no admin key can use it.
func (m *Main) runAudit(ctx context.Context, args []string) error {
	sub, args, err := m.subcommand("audit", args)
	if err != nil {
		return err
	}
	switch sub {
	case "verify":
		return m.auditVerify(ctx, args)
	case "export":
		return m.auditExport(ctx, args)
	case "erase-personal":
		return m.auditErase(ctx, args)
	default: // rotate-key
		return m.auditRotateKey(ctx, args)
	}
}

func (m *Main) auditExport(ctx context.Context, args []string) error {
	var (
		f           app.AuditFilter
		from, to    string
		format, out string
		quiet       bool
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
		fs.BoolVar(&quiet, "quiet", false, quietUsage)
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
	media := map[string]string{"csv": app.MediaCSV, "ndjson": app.MediaNDJSON}[format]
	var n int
	err = m.withService(ctx, func(svc *app.Service, store Store) error {
		head, _, err := store.Head(ctx)
		if err != nil {
			return err
		}
		src := &metered{AuditSource: app.NewAudit(store), bar: m.newMeter(quiet, "audit export", max(head-f.AfterPosition, 0)), from: f.AfterPosition}
		defer src.bar.stop()
		n, err = app.ExportAudit(ctx, src, f, media, bw, func() error { return nil }, func() error { return nil })
		if err == nil {
			src.bar.finish()
		}
		if rerr := recordCLIRead(ctx, svc, domain.AuditRead{Operation: "export", Filters: app.FilterMap(f), Format: format, Rows: int64(n), Complete: err == nil}); err == nil {
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
	if !quiet {
		fmt.Fprintf(m.Stderr, "exported %d events\n", n)
	}
	return nil
}

// metered is an export source that shows how far through the log it has
// read: the bar counts the log's events passed, matching or not.
type metered struct {
	app.AuditSource
	bar  *meter
	from int64 // the position before the first one read
}

func (s *metered) Events(ctx context.Context, f app.AuditFilter, fn func(*app.Event) error) error {
	return s.AuditSource.Events(ctx, f, func(e *app.Event) error {
		if e.Position%512 == 0 { // a bar update costs about 0.5 µs
			s.bar.set(e.Position - s.from)
		}
		return fn(e)
	})
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
