// Package ingresstest runs Debian's nginx and Caddy as child processes
// for tests: a generated configuration, a temporary directory for
// everything they write, no daemon, their logs kept for a failing test.
// .ci/run installs both; outside CI a machine without one skips the tests
// that need it, in CI (CI set) it fails them.
//
// It imports only the standard library, internal/testlog and
// internal/waitfor.
package ingresstest

import (
	"fmt"
	"github.com/sessiond/sessiond/internal/testlog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sessiond/sessiond/internal/waitfor"
)

// Binary returns the path of a program (nginx, caddy). When it is not
// installed the test is skipped, unless the CI environment variable is
// set: then it fails.
func Binary(tb testing.TB, name string) string {
	tb.Helper()
	for _, p := range []string{name, "/usr/sbin/" + name} {
		if path, err := exec.LookPath(p); err == nil {
			return path
		}
	}
	if os.Getenv("CI") != "" {
		tb.Fatalf("%s is not installed (.ci/run installs it: apt-get install %s)", name, name)
	}
	tb.Skipf("%s is not installed; apt-get install %s (CI fails here instead of skipping)", name, name)
	return ""
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

// FreeAddr returns a loopback address with a port that was free a moment
// ago (the proxy binds it itself).
func FreeAddr(tb testing.TB) string {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// Process is a running proxy.
type Process struct {
	cmd  *exec.Cmd
	logs *syncBuffer
}

// Logs returns what the process has written so far.
func (p *Process) Logs() string { return p.logs.String() }

// start runs cmd until the test ends (SIGTERM, then SIGKILL after 10 s)
// and waits until addr accepts connections.
func start(tb testing.TB, cmd *exec.Cmd, addr string) *Process {
	tb.Helper()
	p := &Process{cmd: cmd, logs: &syncBuffer{}}
	cmd.Stdout, cmd.Stderr = p.logs, p.logs
	if err := cmd.Start(); err != nil {
		tb.Fatalf("start %s: %v", cmd.Path, err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	tb.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
		if tb.Failed() {
			tb.Logf("%s log:\n%s", filepath.Base(cmd.Path), p.logs.String())
		}
	})
	waitfor.Cond(tb, 10*time.Second, func() error {
		select {
		case <-exited:
			tb.Fatalf("%s exited at start-up:\n%s", cmd.Path, p.logs.String())
		default:
		}
		c, err := net.Dial("tcp", addr)
		if err != nil {
			return err
		}
		return c.Close()
	})
	return p
}

type syncBuffer = testlog.Buffer

// writeFile writes content to dir/name and returns its path.
func writeFile(tb testing.TB, dir, name, content string) string {
	tb.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		tb.Fatal(err)
	}
	return path
}

// nginxArgs are the command-line arguments that keep nginx inside prefix:
// no daemon, the pid file there, the error log on stderr.
func nginxArgs(prefix, conf string) []string {
	return []string{"-p", prefix, "-c", conf, "-e", "stderr",
		"-g", "daemon off; pid " + filepath.Join(prefix, "nginx.pid") + "; error_log stderr notice;"}
}

// nginxSandbox returns conf with the http block's temporary files inside
// prefix and its access log off, so nothing is written outside it.
func nginxSandbox(tb testing.TB, conf, prefix string) string {
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

// CheckNginx runs nginx -t on a configuration text and fails the test
// with nginx's output if it is rejected.
func CheckNginx(tb testing.TB, conf string) {
	tb.Helper()
	bin := Binary(tb, "nginx")
	dir := tb.TempDir()
	path := writeFile(tb, dir, "nginx.conf", nginxSandbox(tb, conf, dir))
	out, err := exec.Command(bin, append([]string{"-t", "-q"}, nginxArgs(dir, path)...)...).CombinedOutput()
	if err != nil {
		tb.Fatalf("nginx -t: %v\n%s", err, out)
	}
}

// StartNginx runs nginx with conf until the test ends, and waits until
// addr, one of its listen addresses, accepts connections.
func StartNginx(tb testing.TB, conf, addr string) *Process {
	tb.Helper()
	bin := Binary(tb, "nginx")
	dir := tb.TempDir()
	path := writeFile(tb, dir, "nginx.conf", nginxSandbox(tb, conf, dir))
	return start(tb, exec.Command(bin, nginxArgs(dir, path)...), addr)
}

// caddyEnv keeps Caddy's storage and configuration inside dir.
func caddyEnv(dir string) []string {
	return append(os.Environ(), "HOME="+dir, "XDG_DATA_HOME="+dir, "XDG_CONFIG_HOME="+dir)
}

// CheckCaddy runs caddy validate (adapt and provision every module) on a
// Caddyfile text and fails the test with Caddy's output if it is
// rejected.
func CheckCaddy(tb testing.TB, caddyfile string) {
	tb.Helper()
	bin := Binary(tb, "caddy")
	dir := tb.TempDir()
	path := writeFile(tb, dir, "Caddyfile", caddyfile)
	cmd := exec.Command(bin, "validate", "--adapter", "caddyfile", "--config", path)
	cmd.Env = caddyEnv(dir)
	if out, err := cmd.CombinedOutput(); err != nil {
		tb.Fatalf("caddy validate: %v\n%s", err, out)
	}
}

// StartCaddy runs Caddy with a Caddyfile until the test ends, and waits
// until addr, one of its listen addresses, accepts connections.
func StartCaddy(tb testing.TB, caddyfile, addr string) *Process {
	tb.Helper()
	bin := Binary(tb, "caddy")
	dir := tb.TempDir()
	path := writeFile(tb, dir, "Caddyfile", caddyfile)
	cmd := exec.Command(bin, "run", "--adapter", "caddyfile", "--config", path)
	cmd.Env = caddyEnv(dir)
	return start(tb, cmd, addr)
}
