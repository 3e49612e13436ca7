package server

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// command says how a command's flags are parsed and shown by --help.
type command struct {
	// settings are the configuration flags the command reads, with what
	// they mean to it ("": serve's text). nil shows every setting (serve).
	settings map[string]string
	// args is true for a command that takes positional arguments.
	args bool
}

// storeSettings are what every command working on the store reads.
func storeSettings() map[string]string {
	return map[string]string{"database-url": "", "data-dir": "", "log-level": ""}
}

// commands maps a command's name (as given to flags) to its help.
var commands = map[string]command{
	"serve":                {},
	"migrate":              {settings: storeSettings()},
	"keys create":          {settings: storeSettings()},
	"keys list":            {settings: storeSettings()},
	"keys revoke":          {settings: storeSettings(), args: true},
	"audit verify":         {settings: verifyFlags},
	"audit export":         {settings: storeSettings()},
	"audit erase-personal": {settings: storeSettings()},
	"audit rotate-key": {settings: map[string]string{"database-url": "", "data-dir": "", "log-level": "",
		"audit-key-file": "the current audit key, which endorses the new one (SESSIOND_AUDIT_KEY_FILE)"}},
	"export": {settings: storeSettings()},
	"import": {settings: storeSettings()},
	"db grant": {settings: map[string]string{"log-level": "",
		"database-url": "postgres:// URL of the database, connecting as the owner of the tables (DATABASE_URL)"}},
	"bench": {settings: map[string]string{"log-level": "",
		"database-url": "postgres:// URL: with --embedded, the server runs on a scratch database beside it; also runs pgbench's INSERT as a yardstick (DATABASE_URL)",
		"nats-url":     "with --target: the NATS the verifiers follow (NATS_URL)"}},
	"ssf-receive": {settings: map[string]string{"log-level": ""}},
}

// usageError is a command called wrongly: exit code 2.
func usageError(format string, args ...any) error {
	return &ExitError{Code: 2, Err: fmt.Errorf(format, args...)}
}

// flags makes a FlagSet for a command with the configuration flags bound
// and parses args into it. extra registers command-specific flags. --help
// prints the command's help on stdout (its own flags, then the settings
// it reads); a bad flag or argument is a usage error.
func (m *Main) flags(name, synopsis string, args []string, extra func(*flag.FlagSet)) (*flag.FlagSet, error) {
	cmd := commands[name]
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	getenv := m.Getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	m.Config.bindFlags(fs, getenv)
	own := map[string]bool{}
	if extra != nil {
		probe := flag.NewFlagSet(name, flag.ContinueOnError)
		extra(probe)
		probe.VisitAll(func(f *flag.Flag) { own[f.Name] = true })
		extra(fs)
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			m.printHelp(fs, synopsis, own, cmd.settings)
			return nil, &ExitError{Code: 0, Err: err}
		}
		return nil, usageError("%s: %v (see sessiond %s --help)", name, dashes(err), name)
	}
	if !cmd.args && fs.NArg() > 0 {
		return nil, usageError("%s: unexpected argument %q (see sessiond %s --help)", name, fs.Arg(0), name)
	}
	if err := m.Config.validate(); err != nil {
		return nil, &ExitError{Code: 2, Err: err}
	}
	level, _ := m.Config.level()
	if m.Logger == nil {
		m.Logger = slog.New(slog.NewJSONHandler(m.Stderr, &slog.HandlerOptions{Level: level}))
	}
	return fs, nil
}

// dashes writes the flag package's "-name" as "--name".
func dashes(err error) string {
	return singleDash.ReplaceAllString(err.Error(), "${1}--$2")
}

// printHelp writes a command's help: its own flags, then the
// configuration settings it reads (all of them when settings is nil).
func (m *Main) printHelp(fs *flag.FlagSet, synopsis string, own map[string]bool, settings map[string]string) {
	w := m.Stdout
	fmt.Fprintf(w, "Usage: %s\n", synopsis)
	var mine, config []*flag.Flag
	fs.VisitAll(func(f *flag.Flag) {
		_, used := settings[f.Name]
		switch {
		case own[f.Name]:
			mine = append(mine, f)
		case settings == nil || used:
			g := *f
			if u := settings[f.Name]; u != "" {
				g.Usage = u
			}
			config = append(config, &g)
		}
	})
	if len(mine) > 0 {
		fmt.Fprint(w, "\nFlags:\n")
		for _, f := range mine {
			writeFlag(w, f)
		}
	}
	if len(config) > 0 {
		fmt.Fprint(w, "\nConfiguration (a flag wins over its environment variable):\n")
		for _, f := range config {
			writeFlag(w, f)
		}
	}
}

var (
	singleDash    = regexp.MustCompile(`(^|\s)-([a-z])`)
	envSuffix     = regexp.MustCompile(`\s*\(([A-Z][A-Z0-9_]*)\)$`)
	defaultSuffix = regexp.MustCompile(`\s*\(default ([^()]*)\)$`)
)

// writeFlag writes one flag: "--name TYPE", then its description wrapped,
// ending in "(default D)" and "(env VAR)" when it has them.
func writeFlag(w io.Writer, f *flag.Flag) {
	typ, text := flag.UnquoteUsage(f)
	var env, def string
	if s := envSuffix.FindStringSubmatch(text); s != nil {
		env, text = s[1], text[:len(text)-len(s[0])]
	}
	if s := defaultSuffix.FindStringSubmatch(text); s != nil {
		def, text = s[1], text[:len(text)-len(s[0])]
	} else if d := f.DefValue; d != "" && d != "0" && d != "false" {
		def = d // from the environment, when set there
	}
	if strings.Contains(def, "://") {
		def = redactURL(def) // a password in DATABASE_URL stays out of help
	}
	if typ == "value" { // a typed setting parsed by a function: name it by its default
		if _, err := time.ParseDuration(def); err == nil && def != "" && def != "0" {
			typ = "duration"
		} else if _, err := strconv.ParseFloat(def, 64); err == nil {
			typ = "number"
		}
	}
	head := "  --" + f.Name
	if typ != "" {
		head += " " + typ
	}
	if def != "" {
		text += " (default " + def + ")"
	}
	if env != "" {
		text += " (env " + env + ")"
	}
	fmt.Fprintln(w, head)
	line := "     "
	for _, word := range strings.Fields(text) {
		if len(line)+1+len(word) > 80 && len(line) > 5 {
			fmt.Fprintln(w, line)
			line = "     "
		}
		line += " " + word
	}
	fmt.Fprintln(w, line)
}

// subcommand is one command of a group (keys, audit, db).
type subcommand struct{ name, args, what string }

// groups are the commands that have subcommands.
var groups = map[string][]subcommand{
	"keys": {
		{"create", "--name NAME --scopes s1,s2", "create an admin API key; the key is printed alone on the last line"},
		{"list", "", "list admin keys (never their secrets)"},
		{"revoke", "ID", "revoke an admin key"},
	},
	"audit": {
		{"verify", "[--audit-keys F|URL] [--witness nats://...]", "check the chain, the signed checkpoints, the witnesses and the read model"},
		{"export", "[--user ID] [--format csv|ndjson] ...", "export matching events straight from the database"},
		{"erase-personal", "--before T | --actor KEY", "erase stored IPs and user agents; the log is unchanged"},
		{"rotate-key", "--new-key-file FILE", "introduce a new audit signing key, endorsed by the current one"},
	},
	"db": {
		{"grant", "--role NAME [--create]", "give a PostgreSQL role what serve needs and no more"},
	},
}

// subcommand splits a group's command from args. -h or --help prints the
// group's commands on stdout (an ExitError with code 0 and flag.ErrHelp);
// a missing or unknown command prints them on stderr: a usage error.
func (m *Main) subcommand(group string, args []string) (string, []string, error) {
	subs := groups[group]
	if len(args) > 0 && (args[0] == "-h" || args[0] == "-help" || args[0] == "--help" || args[0] == "help") {
		m.groupHelp(m.Stdout, group, subs)
		return "", nil, &ExitError{Code: 0, Err: flag.ErrHelp}
	}
	names := make([]string, len(subs))
	for i, s := range subs {
		names[i] = s.name
	}
	want := strings.Join(names, ", ")
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		m.groupHelp(m.Stderr, group, subs)
		return "", nil, usageError("%s needs a command: %s", group, want)
	}
	for _, s := range subs {
		if s.name == args[0] {
			return args[0], args[1:], nil
		}
	}
	m.groupHelp(m.Stderr, group, subs)
	return "", nil, usageError("unknown %s command %q: want %s", group, args[0], want)
}

func (m *Main) groupHelp(w io.Writer, group string, subs []subcommand) {
	fmt.Fprintf(w, "Usage: sessiond %s COMMAND [flags]\n\nCommands:\n", group)
	width := 0
	for _, s := range subs {
		width = max(width, len(s.name)+1+len(s.args))
	}
	for _, s := range subs {
		fmt.Fprintf(w, "  %-*s  %s\n", width, strings.TrimSpace(s.name+" "+s.args), s.what)
	}
	fmt.Fprintf(w, "\n\"sessiond %s COMMAND --help\" shows a command's flags.\n", group)
}
