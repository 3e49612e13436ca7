package pgtest

import (
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"testing"

	"github.com/sessiond/sessiond/internal/freeport"
)

// startThrowaway initialises and starts a private cluster on a free port
// from the installed PostgreSQL binaries. initdb refuses to run as root, so
// as root it runs them as the postgres user. The cluster lives in a temp
// dir and is stopped by Main (or dies with the machine).
func startThrowaway() (string, error) {
	bin, err := findBin()
	if err != nil {
		return "", err
	}
	dir, err := os.MkdirTemp("", "pgtest-")
	if err != nil {
		return "", err
	}
	runAs := []string{}
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			return "", fmt.Errorf("throwaway cluster: running as root and no postgres user: %w", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chown(dir, uid, gid); err != nil {
			return "", err
		}
		runAs = []string{"runuser", "-u", "postgres", "--"}
	}
	port, err := freePort()
	if err != nil {
		return "", err
	}
	data := filepath.Join(dir, "data")
	run := func(args ...string) error {
		full := append(append([]string{}, runAs...), args...)
		out, err := exec.Command(full[0], full[1:]...).CombinedOutput()
		if err != nil {
			return fmt.Errorf("%s: %w: %s", filepath.Base(args[0]), err, out)
		}
		return nil
	}
	if err := run(filepath.Join(bin, "initdb"), "-D", data, "-A", "trust", "-U", "postgres", "--no-sync"); err != nil {
		return "", err
	}
	opts := fmt.Sprintf("-p %d -c listen_addresses=127.0.0.1 -c unix_socket_directories=%s -c fsync=off -c max_connections=300", port, dir)
	if err := run(filepath.Join(bin, "pg_ctl"), "-D", data, "-o", opts, "-l", filepath.Join(dir, "log"), "-w", "start"); err != nil {
		return "", err
	}
	stop = func() {
		_ = run(filepath.Join(bin, "pg_ctl"), "-D", data, "-m", "immediate", "stop")
		os.RemoveAll(dir)
	}
	u := fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", port)
	return u, ping(u)
}

var stop = func() {}

// Main runs a package's tests and then stops the throwaway cluster, if this
// process started one. Use it as TestMain:
//
//	func TestMain(m *testing.M) { pgtest.Main(m) }
func Main(m *testing.M) { MainWith(m, nil) }

// MainWith is Main with after run once the tests are done, before the
// throwaway server stops: for a package's own shared fixtures (a browser,
// say).
func MainWith(m *testing.M, after func()) {
	code := m.Run()
	if after != nil {
		after()
	}
	stop()
	os.Exit(code)
}

func findBin() (string, error) {
	if p, err := exec.LookPath("initdb"); err == nil {
		return filepath.Dir(p), nil
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool {
		a, _ := strconv.Atoi(filepath.Base(filepath.Dir(dirs[i])))
		b, _ := strconv.Atoi(filepath.Base(filepath.Dir(dirs[j])))
		return a > b
	})
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "initdb")); err == nil {
			return d, nil
		}
	}
	return "", fmt.Errorf("no PostgreSQL binaries (initdb) on PATH or in /usr/lib/postgresql/*/bin")
}

// freePort is a port outside the kernel's ephemeral range, so a restart of
// the server on it does not race the machine's outgoing connections.
func freePort() (int, error) { return freeport.Pick() }
