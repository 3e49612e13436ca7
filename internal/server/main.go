package server

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"github.com/sessiond/sessiond/broadcast"
)

// ExitError carries a process exit code other than 1.
type ExitError struct {
	Code int
	Err  error
}

func (e *ExitError) Error() string { return e.Err.Error() }
func (e *ExitError) Unwrap() error { return e.Err }

// Main is the sessiond program. Tests build one, point Stdout and Stderr
// at buffers, and call Run or Start.
type Main struct {
	Stdout io.Writer
	Stderr io.Writer
	Getenv func(string) string

	Config Config
	Logger *slog.Logger

	serve  *serving               // set while serving
	mirror *broadcast.AuditMirror // the audit mirror while serving, if on
}

// NewMain returns a Main on the process's standard streams and environment.
func NewMain() *Main {
	return &Main{Stdout: os.Stdout, Stderr: os.Stderr, Getenv: os.Getenv}
}

const usage = `sessiond — event-sourced session authority

Usage:
  sessiond [serve] [flags]                     run the HTTP API (default)
  sessiond migrate [flags]                     apply pending migrations and exit
  sessiond keys create --name N --scopes s1,s2 create an admin API key
  sessiond keys list                           list admin keys
  sessiond keys revoke ID                      revoke an admin key
  sessiond audit verify [--audit-keys F|URL]  check the chain, the signed checkpoints, the witnesses
           [--witness nats://...] [--witness-dir D]  and the read model; every break, exit 1 if any
           [--format text|json] [--log-only] ...
  sessiond audit rotate-key --new-key-file F   introduce a new audit signing key, endorsed by the current one
  sessiond audit export [--user ID] [--format csv|ndjson] ...
                                               export matching events straight from the database
  sessiond audit erase-personal --before T | --actor K
                                               erase stored IPs and user agents; the log is unchanged
  sessiond export [--out FILE]                 write the event log as JSON Lines
  sessiond import [--in FILE]                  append an export to this store's log
  sessiond bench [--target URL --key K | --embedded] [--clients N] [--sessions N]
           [--rate R] [--verifiers N] [--report FILE.html]
                                               load-test the revoke path; with --database-url,
                                               against pgbench's INSERT in the same run
  sessiond db grant --role NAME [--create]     give a PostgreSQL role what serve needs and no more
           [--password-file F] [--print]
  sessiond ssf-receive --transmitter URL --aud AUD [--listen ADDR] [--authorization V]
                                               a Shared Signals push receiver printing validated SETs

Every command takes the configuration flags; "sessiond COMMAND --help" lists them.
`

// Run runs the command in args (without the program name) until it ends or
// ctx is cancelled. For serve, it returns after a graceful shutdown.
func (m *Main) Run(ctx context.Context, args []string) error {
	cmd := "serve"
	if len(args) > 0 && (args[0] == "-h" || args[0] == "--help") {
		cmd, args = "help", nil
	} else if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		cmd, args = args[0], args[1:]
	}
	switch cmd {
	case "serve":
		return m.runServe(ctx, args)
	case "migrate":
		return m.runMigrate(ctx, args)
	case "keys":
		return m.runKeys(ctx, args)
	case "audit":
		return m.runAudit(ctx, args)
	case "export":
		return m.runExport(ctx, args)
	case "import":
		return m.runImport(ctx, args)
	case "bench":
		return m.runBench(ctx, args)
	case "db":
		return m.runDB(ctx, args)
	case "ssf-receive":
		return m.runSSFReceive(ctx, args)
	case "help", "-h", "--help":
		fmt.Fprint(m.Stdout, usage)
		return nil
	default:
		fmt.Fprint(m.Stderr, usage)
		return &ExitError{Code: 2, Err: fmt.Errorf("unknown command %q", cmd)}
	}
}

// flags makes a FlagSet for a command with the configuration flags bound
// and parses args into it. extra registers command-specific flags.
func (m *Main) flags(name, synopsis string, args []string, extra func(*flag.FlagSet)) (*flag.FlagSet, error) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(m.Stderr)
	fs.Usage = func() {
		fmt.Fprintf(m.Stderr, "Usage: %s\n\nFlags:\n", synopsis)
		fs.PrintDefaults()
	}
	getenv := m.Getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	m.Config.bindFlags(fs, getenv)
	if extra != nil {
		extra(fs)
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil, &ExitError{Code: 0, Err: err}
		}
		return nil, &ExitError{Code: 2, Err: err}
	}
	if err := m.Config.validate(); err != nil {
		return nil, err
	}
	level, _ := m.Config.level()
	if m.Logger == nil {
		m.Logger = slog.New(slog.NewJSONHandler(m.Stderr, &slog.HandlerOptions{Level: level}))
	}
	return fs, nil
}
