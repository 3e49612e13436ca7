package server_test

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/sessiond/sessiond/internal/server"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// helpCommands are every command and group whose --help is kept in a
// golden file, so a change to any help text is reviewed.
var helpCommands = [][]string{
	{}, {"serve"}, {"migrate"},
	{"keys"}, {"keys", "create"}, {"keys", "list"}, {"keys", "revoke"},
	{"audit"}, {"audit", "verify"}, {"audit", "export"}, {"audit", "erase-personal"}, {"audit", "rotate-key"},
	{"export"}, {"import"}, {"db"}, {"db", "grant"}, {"bench"}, {"ssf-receive"},
}

var oneDash = regexp.MustCompile(`(?m)^\s+-[a-z]`)

// TestHelpGolden: each command's --help, on stdout, matches
// testdata/help/<command>.golden (go test -run TestHelpGolden -update
// rewrites them). Help exits 0 and writes nothing on stderr.
func TestHelpGolden(t *testing.T) {
	for _, cmd := range helpCommands {
		name := strings.Join(cmd, "-")
		if name == "" {
			name = "sessiond"
		}
		t.Run(name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			m := server.NewMain()
			m.Stdout, m.Stderr, m.Getenv = &out, &errOut, env(nil)
			err := m.Run(context.Background(), append(append([]string{}, cmd...), "--help"))
			var exit *server.ExitError
			if err != nil && (!errors.As(err, &exit) || exit.Code != 0) {
				t.Fatalf("--help: %v", err)
			}
			if errOut.Len() != 0 {
				t.Errorf("--help wrote on stderr: %q", errOut.String())
			}
			golden := filepath.Join("testdata", "help", name+".golden")
			if *update {
				if err := os.MkdirAll(filepath.Dir(golden), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(golden, out.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -run TestHelpGolden -update)", err)
			}
			if got := out.String(); got != string(want) {
				t.Errorf("help of %q differs from %s (go test -run TestHelpGolden -update, then review the diff):\n%s", cmd, golden, got)
			}
			if oneDash.MatchString(out.String()) {
				t.Errorf("a flag is shown with one dash:\n%s", out.String())
			}
		})
	}
}

// TestHelpShowsOwnFlags: a command's help lists its own flags and the
// settings it reads, not every server setting.
func TestHelpShowsOwnFlags(t *testing.T) {
	for _, tc := range []struct {
		cmd       []string
		want, not []string
	}{
		{[]string{"keys", "create"}, []string{"--name string", "--scopes string", "--database-url", "(env DATABASE_URL)", "--data-dir"}, []string{"--http-addr", "--nats-url", "--issuer"}},
		{[]string{"export"}, []string{"--out", "--quiet", "--database-url"}, []string{"--http-addr", "--heartbeat", "--nats-listen"}},
		{[]string{"bench"}, []string{"--nats-url", "--database-url", "--clients"}, []string{"--http-addr", "--data-dir"}},
		{[]string{"serve"}, []string{"--no-migrate", "--http-addr", "(env SESSIOND_HTTP_ADDR)", "--nats-url", "(default :8080)"}, nil},
	} {
		var out bytes.Buffer
		m := server.NewMain()
		m.Stdout, m.Stderr, m.Getenv = &out, io.Discard, env(nil)
		_ = m.Run(context.Background(), append(tc.cmd, "--help"))
		for _, w := range tc.want {
			if !strings.Contains(out.String(), w) {
				t.Errorf("%v --help lacks %q", tc.cmd, w)
			}
		}
		for _, n := range tc.not {
			if strings.Contains(out.String(), n) {
				t.Errorf("%v --help lists %q, which it does not read", tc.cmd, n)
			}
		}
	}
}

// TestHelpHidesPassword: a default taken from DATABASE_URL is shown
// without its password.
func TestHelpHidesPassword(t *testing.T) {
	var out bytes.Buffer
	m := server.NewMain()
	m.Stdout, m.Stderr = &out, io.Discard
	m.Getenv = env(map[string]string{"DATABASE_URL": "postgres://app:s3cret@db/sessiond"})
	_ = m.Run(context.Background(), []string{"migrate", "--help"})
	if got := out.String(); strings.Contains(got, "s3cret") || !strings.Contains(got, "postgres://app:xxxxx@db/sessiond") {
		t.Errorf("help with DATABASE_URL set:\n%s", got)
	}
}

// TestUsageErrorsExit2: calling a command wrongly exits 2, before it
// touches a store; a failure at run time exits 1.
func TestUsageErrorsExit2(t *testing.T) {
	for _, args := range [][]string{
		{"frobnicate"}, {"keys"}, {"keys", "frob"}, {"audit"}, {"audit", "frob"}, {"db"}, {"db", "frob"},
		{"keys", "create", "--scopes", "sessions:read"}, {"keys", "create", "--name", "x", "--scopes", "root"},
		{"keys", "create", "--name", "x"}, {"keys", "revoke"}, {"keys", "list", "extra"},
		{"export", "--frob"}, {"import", "--in"}, {"migrate", "extra"}, {"serve", "--log-level", "loud"},
		{"audit", "verify", "--format", "xml"}, {"audit", "verify", "--from", "one"},
		{"audit", "export", "--from", "yesterday"}, {"audit", "export", "--format", "xml"},
		{"audit", "erase-personal"}, {"audit", "rotate-key"}, {"db", "grant"}, {"bench"}, {"ssf-receive"},
	} {
		dir := t.TempDir()
		var out, errOut bytes.Buffer
		m := server.NewMain()
		m.Stdout, m.Stderr = &out, &errOut
		m.Getenv = env(map[string]string{"SESSIOND_DATA_DIR": dir})
		m.Logger = slog.New(slog.DiscardHandler)
		err := m.Run(context.Background(), args)
		var exit *server.ExitError
		if !errors.As(err, &exit) || exit.Code != 2 {
			t.Errorf("%q: %v; want a usage error (exit 2)", args, err)
		}
		if out.Len() != 0 {
			t.Errorf("%q wrote on stdout: %q", args, out.String())
		}
		if _, err := os.Stat(filepath.Join(dir, "sessiond.db")); err == nil {
			t.Errorf("%q opened the store before rejecting its arguments", args)
		}
	}
	m := server.NewMain()
	m.Stdout, m.Stderr = io.Discard, io.Discard
	m.Getenv = env(map[string]string{"SESSIOND_DATA_DIR": t.TempDir()})
	m.Logger = slog.New(slog.DiscardHandler)
	err := m.Run(context.Background(), []string{"keys", "revoke", "no-such-key"})
	var exit *server.ExitError
	if err == nil || (errors.As(err, &exit) && exit.Code != 1) {
		t.Errorf("revoking an unknown key: %v; want a runtime error (exit 1)", err)
	}
}
