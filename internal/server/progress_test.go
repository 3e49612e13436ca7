package server_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/creack/pty"

	"github.com/sessiond/sessiond/internal/server"
)

// progressRun runs a command on the embedded store in dir, with stderr a
// terminal or not, and returns its stdout and stderr.
func progressRun(t *testing.T, dir string, terminal bool, args ...string) (string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	m := server.NewMain()
	m.Stdout, m.Stderr = &out, &errOut
	m.Getenv = env(map[string]string{"SESSIOND_DATA_DIR": dir})
	m.Logger = slog.New(slog.DiscardHandler)
	m.IsTerminal = func(w io.Writer) bool { return terminal && w == &errOut }
	if err := m.Run(context.Background(), args); err != nil {
		t.Fatalf("%v: %v", args, err)
	}
	return out.String(), errOut.String()
}

// TestProgress: on a terminal, export, import, audit export and audit
// verify show progress on stderr and write the same stdout as without
// one; not on a terminal, or with --quiet, stderr holds no progress.
func TestProgress(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"a", "b", "c"} {
		progressRun(t, dir, false, "keys", "create", "--name", name, "--scopes", "sessions:read")
	}
	for _, cmd := range [][]string{{"export"}, {"audit", "export", "--format", "ndjson"}, {"audit", "verify", "--allow-unsigned"}} {
		// Audit commands record their run in the log: each run starts from
		// its own copy of the same log.
		plain, plainErr := progressRun(t, copyDir(t, dir), false, cmd...)
		shown, shownErr := progressRun(t, copyDir(t, dir), true, cmd...)
		_, quietErr := progressRun(t, copyDir(t, dir), true, append(cmd, "--quiet")...)
		if plain == "" || shown != plain {
			t.Errorf("%v: stdout on a terminal differs:\n%q\nwithout one:\n%q", cmd, shown, plain)
		}
		if !strings.Contains(shownErr, "100%") || !strings.Contains(shownErr, "events/s") || !strings.Contains(shownErr, cmd[0]) {
			t.Errorf("%v on a terminal: stderr %q shows no progress", cmd, shownErr)
		}
		for what, got := range map[string]string{"not a terminal": plainErr, "--quiet": quietErr} {
			if strings.Contains(got, "%") || strings.Contains(got, "\r") {
				t.Errorf("%v, %s: stderr shows progress: %q", cmd, what, got)
			}
		}
		if quietErr != "" {
			t.Errorf("%v --quiet: stderr %q, want nothing", cmd, quietErr)
		}
	}

	file := filepath.Join(t.TempDir(), "log.jsonl")
	progressRun(t, dir, false, "export", "--out", file)
	plain, plainErr := progressRun(t, t.TempDir(), false, "import", "--in", file)
	shown, shownErr := progressRun(t, t.TempDir(), true, "import", "--in", file)
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	n := strings.Count(string(b), "\n") // the import counts events of the export's total
	if shown != plain || !strings.Contains(shownErr, "import") || !strings.Contains(shownErr, "100%") || !strings.Contains(shownErr, fmt.Sprintf("(%d/%d", n, n)) || plainErr != "" {
		t.Errorf("import: stdout %q vs %q; stderr on a terminal %q, else %q", shown, plain, shownErr, plainErr)
	}
}

// copyDir copies a data dir whose store is closed.
func copyDir(t *testing.T, dir string) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), "data")
	if err := os.CopyFS(dst, os.DirFS(dir)); err != nil {
		t.Fatal(err)
	}
	return dst
}

// TestProgressPTY: a real terminal on stderr is recognised without help,
// and a file is not.
func TestProgressPTY(t *testing.T) {
	dir := t.TempDir()
	progressRun(t, dir, false, "keys", "create", "--name", "a", "--scopes", "sessions:read")
	ptmx, tty, err := pty.Open()
	if err != nil {
		t.Skipf("no pty: %v", err)
	}
	defer ptmx.Close()
	read := make(chan string)
	go func() {
		b, _ := io.ReadAll(ptmx) // ends with EIO once tty is closed
		read <- string(b)
	}()
	file, err := os.CreateTemp(t.TempDir(), "stderr")
	if err != nil {
		t.Fatal(err)
	}
	defer file.Close()
	for _, stderr := range []*os.File{tty, file} {
		var out bytes.Buffer
		m := server.NewMain()
		m.Stdout, m.Stderr = &out, stderr
		m.Getenv = env(map[string]string{"SESSIOND_DATA_DIR": dir})
		m.Logger = slog.New(slog.DiscardHandler)
		var exit *server.ExitError
		if err := m.Run(context.Background(), []string{"export"}); err != nil && !errors.As(err, &exit) {
			t.Fatal(err)
		}
	}
	tty.Close()
	if got := <-read; !strings.Contains(got, "100%") {
		t.Errorf("on a pty, stderr shows no progress: %q", got)
	}
	b, _ := os.ReadFile(file.Name())
	if strings.Contains(string(b), "%") {
		t.Errorf("into a file, stderr shows progress: %q", b)
	}
}
