// Package nginxtest runs Debian's nginx as a child process for tests: a
// generated configuration, a temporary prefix directory, no daemon, the
// error log on the test's output. .ci/run installs nginx; outside CI a
// machine without it skips these tests, in CI (CI set) it fails them.
//
// It imports only the standard library and internal/waitfor.
package nginxtest

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sessiond/sessiond/internal/waitfor"
)

// Binary returns the path of nginx. When it is not installed the test is
// skipped, unless the CI environment variable is set: then it fails.
func Binary(tb testing.TB) string {
	tb.Helper()
	for _, p := range []string{"nginx", "/usr/sbin/nginx"} {
		if path, err := exec.LookPath(p); err == nil {
			return path
		}
	}
	if os.Getenv("CI") != "" {
		tb.Fatal("nginx is not installed (.ci/run installs it: apt-get install nginx)")
	}
	tb.Skip("nginx is not installed; apt-get install nginx (CI fails here instead of skipping)")
	return ""
}

// Args are the command-line arguments that keep nginx inside prefix: no
// daemon, the pid file there, the error log on stderr.
func Args(prefix, conf string) []string {
	return []string{"-p", prefix, "-c", conf, "-e", "stderr",
		"-g", "daemon off; pid " + filepath.Join(prefix, "nginx.pid") + "; error_log stderr notice;"}
}

// Sandbox returns conf with the http block's temporary files inside prefix
// and its access log off, so nothing is written outside the test's
// directory.
func Sandbox(tb testing.TB, conf, prefix string) string {
	tb.Helper()
	var paths strings.Builder
	paths.WriteString("http {\n    access_log off;\n")
	for _, d := range []string{"client_body", "proxy", "fastcgi", "uwsgi", "scgi"} {
		fmt.Fprintf(&paths, "    %s_temp_path %s;\n", d, filepath.Join(prefix, d))
	}
	if strings.Count(conf, "http {\n") != 1 {
		tb.Fatalf("nginx configuration has no single %q line", "http {")
	}
	return strings.Replace(conf, "http {\n", paths.String(), 1)
}

// Check runs nginx -t on a configuration text and fails the test with
// nginx's output if it is rejected.
func Check(tb testing.TB, conf string) {
	tb.Helper()
	bin := Binary(tb)
	dir := tb.TempDir()
	path := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(path, []byte(Sandbox(tb, conf, dir)), 0o644); err != nil {
		tb.Fatal(err)
	}
	out, err := exec.Command(bin, append([]string{"-t", "-q"}, Args(dir, path)...)...).CombinedOutput()
	if err != nil {
		tb.Fatalf("nginx -t: %v\n%s", err, out)
	}
}

// Server is a running nginx.
type Server struct {
	cmd  *exec.Cmd
	logs *syncBuffer
}

// Start runs nginx with conf (sandboxed) until the test ends, and waits
// until addr, one of its listen addresses, accepts connections.
func Start(tb testing.TB, conf, addr string) *Server {
	tb.Helper()
	bin := Binary(tb)
	dir := tb.TempDir()
	path := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(path, []byte(Sandbox(tb, conf, dir)), 0o644); err != nil {
		tb.Fatal(err)
	}
	s := &Server{cmd: exec.Command(bin, Args(dir, path)...), logs: &syncBuffer{}}
	s.cmd.Stdout, s.cmd.Stderr = s.logs, s.logs
	if err := s.cmd.Start(); err != nil {
		tb.Fatalf("start nginx: %v", err)
	}
	exited := make(chan struct{})
	go func() { _ = s.cmd.Wait(); close(exited) }()
	tb.Cleanup(func() {
		_ = s.cmd.Process.Signal(syscall.SIGTERM) // fast shutdown of master and workers
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			_ = s.cmd.Process.Kill()
			<-exited
		}
		if tb.Failed() {
			tb.Logf("nginx log:\n%s", s.logs.String())
		}
	})
	waitfor.Cond(tb, 10*time.Second, func() error {
		select {
		case <-exited:
			tb.Fatalf("nginx exited at start-up:\n%s", s.logs.String())
		default:
		}
		c, err := net.Dial("tcp", addr)
		if err != nil {
			return err
		}
		return c.Close()
	})
	return s
}

// Logs returns what nginx has written so far.
func (s *Server) Logs() string { return s.logs.String() }

// FreeAddr returns a loopback address with a port that was free a moment
// ago (nginx binds it itself).
func FreeAddr(tb testing.TB) string {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// Example reads an example configuration and replaces each of its
// addresses (old, new pairs), failing the test if one does not occur: the
// test then runs the example itself, not a copy that may drift.
func Example(tb testing.TB, path string, replace ...string) string {
	tb.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	conf := string(b)
	for i := 0; i+1 < len(replace); i += 2 {
		if !strings.Contains(conf, replace[i]) {
			tb.Fatalf("%s does not mention %s", path, replace[i])
		}
		conf = strings.ReplaceAll(conf, replace[i], replace[i+1])
	}
	return conf
}
