package server

import (
	"context"
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
	// IsTerminal says whether progress may be shown on a stream; nil
	// asks the operating system.
	IsTerminal func(io.Writer) bool

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
  sessiond export [--out FILE] [--quiet]       write the event log as JSON Lines
  sessiond import [--in FILE] [--quiet]        append an export to this store's log
  sessiond bench [--target URL --key K | --embedded] [--clients N] [--sessions N]
           [--rate R] [--verifiers N] [--report FILE.html]
                                               load-test the revoke path; with --database-url,
                                               against pgbench's INSERT in the same run
  sessiond db grant --role NAME [--create]     give a PostgreSQL role what serve needs and no more
           [--password-file F] [--print]
  sessiond ssf-receive --transmitter URL --aud AUD [--listen ADDR] [--authorization V]
                                               a Shared Signals push receiver printing validated SETs

"sessiond COMMAND --help" shows a command's own flags and the settings it reads.
On a terminal, audit verify, audit export, export and import show their
progress on stderr; --quiet turns it off.
Exit status: 0 done; 1 failed (audit verify: a break found); 2 usage error.
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
		return usageError("unknown command %q", cmd)
	}
}
