package server

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sync"

	"github.com/sessiond/sessiond/eventstore"
	"github.com/sessiond/sessiond/internal/app"
)

// runExport writes the configured store's whole log as JSON Lines: every
// column of every event, in position order, hashes in hex.
func (m *Main) runExport(ctx context.Context, args []string) error {
	var out, personalOut string
	var quiet bool
	if _, err := m.flags("export", "sessiond export [--out FILE] [--personal-out FILE] [--quiet] [flags]", args, func(fs *flag.FlagSet) {
		fs.StringVar(&out, "out", "-", "file to write (- for stdout)")
		fs.StringVar(&personalOut, "personal-out", "", "also write the personal data kept beside the log (IPs, user agents) to this file")
		fs.BoolVar(&quiet, "quiet", false, quietUsage)
	}); err != nil {
		return err
	}
	w, done, err := m.createOutput("--out", out)
	if err != nil {
		return err
	}
	defer done()
	bw := bufio.NewWriterSize(w, 1<<16)
	var res app.LogExport
	err = m.withService(ctx, func(_ *app.Service, store Store) error {
		var bar *meter
		defer func() { bar.stop() }()
		var err error
		res, err = app.ExportLog(ctx, store, bw, func(total int64) app.Progress {
			bar = m.newMeter(quiet, "export", total)
			return app.Progress{Set: bar.set, Finish: bar.finish}
		})
		if err != nil {
			return err
		}
		if personalOut == "" {
			return nil
		}
		return m.writePersonal(ctx, store, personalOut)
	})
	if err != nil {
		return fmt.Errorf("export: %w", err)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("export: %w", err)
	}
	if err := done(); err != nil {
		return fmt.Errorf("export: %w", err)
	}
	if !quiet {
		fmt.Fprintf(m.Stderr, "exported %d events (positions 1 to %d), head hash %x\n", res.Events, res.Last, res.HeadHash)
	}
	return nil
}

// runImport appends an export to the configured store, verbatim: positions,
// times and hashes are kept, and the export's chain is checked line by
// line. Into a store that already holds the export's first part, it
// resumes after it; a store holding anything else is refused.
func (m *Main) runImport(ctx context.Context, args []string) error {
	var in, personalIn string
	var quiet bool
	if _, err := m.flags("import", "sessiond import [--in FILE] [--personal-in FILE] [--quiet] [flags]", args, func(fs *flag.FlagSet) {
		fs.StringVar(&in, "in", "-", "export to read (- for stdin)")
		fs.StringVar(&personalIn, "personal-in", "", "also import personal data written by export --personal-out")
		fs.BoolVar(&quiet, "quiet", false, quietUsage)
	}); err != nil {
		return err
	}
	f := os.Stdin
	if in != "-" {
		var err error
		if f, err = os.Open(in); err != nil {
			return fmt.Errorf("--in: %w", err)
		}
		defer f.Close()
	}
	total := exportLength(f)
	var imp app.LogImport
	var personal int64
	var res eventstore.VerifyResult
	err := m.withService(ctx, func(_ *app.Service, store Store) error {
		var bar *meter
		defer func() { bar.stop() }()
		var err error
		imp, err = app.ImportLog(ctx, store, f, func() app.Progress {
			bar = m.newMeter(quiet, "import", total)
			return app.Progress{Set: bar.set, Finish: bar.finish}
		})
		if err != nil {
			return err
		}
		if personalIn != "" {
			if personal, err = readPersonal(ctx, store, personalIn); err != nil {
				return err
			}
		}
		res, err = store.Verify(ctx, 0, 0)
		return err
	})
	if err != nil {
		return fmt.Errorf("import: %w", err)
	}
	if res.Broken != nil {
		fmt.Fprintf(m.Stdout, "BROKEN at position %d after importing: %s\n", res.Broken.Position, res.Broken.Reason)
		return &ExitError{Code: 1, Err: res.Broken}
	}
	fmt.Fprintf(m.Stdout, "imported %d events (%d already present); chain OK: %d events, head hash %x\n",
		imp.Imported, imp.Skipped, res.Checked, res.HeadHash)
	if personalIn != "" {
		fmt.Fprintf(m.Stdout, "imported %d personal data items\n", personal)
	}
	return nil
}

// quietUsage is the text of --quiet.
const quietUsage = "show no progress and no closing summary on stderr (progress is shown only when stderr is a terminal)"

// writePersonal writes the personal data kept beside the log to a new file
// at path (app.ExportPersonal).
func (m *Main) writePersonal(ctx context.Context, store Store, path string) error {
	f, done, err := m.createOutput("--personal-out", path)
	if err != nil {
		return err
	}
	defer done()
	bw := bufio.NewWriterSize(f, 1<<16)
	if err := app.ExportPersonal(ctx, store, bw); err != nil {
		return err
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	return done()
}

// readPersonal imports the personal data in the file at path
// (app.ImportPersonal).
func readPersonal(ctx context.Context, store Store, path string) (int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, fmt.Errorf("--personal-in: %w", err)
	}
	defer f.Close()
	n, err := app.ImportPersonal(ctx, store, bufio.NewReaderSize(f, 1<<16))
	if bad := (*app.InputError)(nil); errors.As(err, &bad) {
		return n, fmt.Errorf("--personal-in: %w", err)
	}
	return n, err
}

// createOutput opens where a command writes: stdout for "-", otherwise a
// new file with mode 0600 — never overwriting one. done closes it (once)
// and reports a failed close.
func (m *Main) createOutput(flagName, path string) (w io.Writer, done func() error, err error) {
	if path == "-" {
		return m.Stdout, func() error { return nil }, nil
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", flagName, err)
	}
	var once sync.Once
	var closeErr error
	return f, func() error { once.Do(func() { closeErr = f.Close() }); return closeErr }, nil
}
