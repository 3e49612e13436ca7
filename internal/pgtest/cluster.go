package pgtest

import (
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
)

// Cluster is a private PostgreSQL cluster, initialised from the installed
// binaries in a temporary directory, that a test may stop, start and
// restart (fault tests). As root it runs the binaries as the postgres user,
// because initdb refuses root. It is removed when the test ends.
type Cluster struct {
	tb    testing.TB
	bin   string
	dir   string
	data  string
	port  int
	runAs []string

	mu      sync.Mutex
	running bool
}

// StartCluster initialises and starts a cluster on a free port. Data is
// written with fsync off: a restart (immediate or fast) keeps every
// committed transaction, which is what a restart of the server process
// tests; power loss is not simulated.
func StartCluster(tb testing.TB) *Cluster {
	tb.Helper()
	bin, err := findBin()
	if err != nil {
		tb.Fatalf("pgtest: %v", err)
	}
	dir, err := os.MkdirTemp("", "pgcluster-")
	if err != nil {
		tb.Fatal(err)
	}
	c := &Cluster{tb: tb, bin: bin, dir: dir, data: filepath.Join(dir, "data")}
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			tb.Fatalf("pgtest: running as root and no postgres user: %v", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chown(dir, uid, gid); err != nil {
			tb.Fatal(err)
		}
		c.runAs = []string{"runuser", "-u", "postgres", "--"}
	}
	if c.port, err = freePort(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		_ = c.pgctl("-m", "immediate", "stop")
		os.RemoveAll(dir)
	})
	if err := c.run(filepath.Join(bin, "initdb"), "-D", c.data, "-A", "trust", "-U", "postgres", "--no-sync"); err != nil {
		tb.Fatalf("pgtest: %v", err)
	}
	c.Start()
	return c
}

// URL is the cluster's postgres database, as superuser postgres.
func (c *Cluster) URL() string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", c.port)
}

// Addr is the cluster's "host:port", for a proxy in front of it.
func (c *Cluster) Addr() string { return fmt.Sprintf("127.0.0.1:%d", c.port) }

// Start starts the cluster and waits until it accepts connections. It is
// a no-op while it runs.
func (c *Cluster) Start() {
	c.tb.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.running {
		return
	}
	opts := fmt.Sprintf("-p %d -c listen_addresses=127.0.0.1 -c unix_socket_directories=%s -c fsync=off -c max_connections=300", c.port, c.dir)
	if err := c.pgctl("-o", opts, "-l", filepath.Join(c.dir, "log"), "-w", "start"); err != nil {
		c.tb.Fatalf("pgtest: start: %v", err)
	}
	c.running = true
}

// Stop stops the cluster. immediate selects an immediate shutdown (as a
// crash: no checkpoint, connections cut, recovery at the next start);
// otherwise a fast one. It is a no-op while stopped.
func (c *Cluster) Stop(immediate bool) {
	c.tb.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.running {
		return
	}
	mode := "fast"
	if immediate {
		mode = "immediate"
	}
	if err := c.pgctl("-m", mode, "-w", "stop"); err != nil {
		c.tb.Fatalf("pgtest: stop: %v", err)
	}
	c.running = false
}

// Restart stops the cluster (immediate or fast, see Stop) and starts it
// again on the same port and data.
func (c *Cluster) Restart(immediate bool) {
	c.tb.Helper()
	c.Stop(immediate)
	c.Start()
}

func (c *Cluster) pgctl(args ...string) error {
	return c.run(append([]string{filepath.Join(c.bin, "pg_ctl"), "-D", c.data}, args...)...)
}

func (c *Cluster) run(args ...string) error {
	full := append(append([]string{}, c.runAs...), args...)
	out, err := exec.Command(full[0], full[1:]...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s: %w: %s", filepath.Base(args[0]), err, out)
	}
	return nil
}
