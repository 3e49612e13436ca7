package server_test

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/sessiond/sessiond/internal/natstest"
	"github.com/sessiond/sessiond/internal/waitfor"
)

// Helpers of the benchmarks: a leaf node as a process of its own, and the
// memory and CPU readings of processes.

// buildNATSServer compiles nats-server (the module's own main package) once,
// so the benchmark's leaf node runs as a process of its own and its memory
// can be told apart from the verifiers'.
var buildNATSServer = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "nats-server-bin-")
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "nats-server")
	out, err := exec.Command("go", "build", "-o", bin, "github.com/nats-io/nats-server/v2").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go build nats-server: %v: %s", err, out)
	}
	return bin, nil
})

// startLeafProcess runs a leaf node of c as a separate nats-server process
// and returns its client URL and pid. With mirror, the leaf runs JetStream
// of its own and mirrors SESSIONS (the regional pattern); without, it maps
// its clients' JetStream calls to the hub.
func startLeafProcess(b *testing.B, c *natstest.Cluster, mirror bool) (string, int) {
	b.Helper()
	bin, err := buildNATSServer()
	if err != nil {
		b.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	_, port, _ := strings.Cut(addr, ":")
	conf := filepath.Join(b.TempDir(), "leaf.conf")
	urls := `"` + strings.Join(c.LeafURLs(), `", "`) + `"`
	js := fmt.Sprintf("default_js_domain: {\"$G\": %q}", natstest.Domain)
	if mirror {
		js = fmt.Sprintf("jetstream { domain: %q, store_dir: %q }", natstest.EdgeDomain, b.TempDir())
	}
	cfg := fmt.Sprintf("listen: 127.0.0.1:%s\nserver_name: leaf-bench\n%s\nleafnodes { reconnect: \"100ms\", remotes: [ { urls: [%s] } ] }\n",
		port, js, urls)
	if err := os.WriteFile(conf, []byte(cfg), 0o600); err != nil {
		b.Fatal(err)
	}
	cmd := exec.Command(bin, "-c", conf)
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	url := "nats://" + addr
	if err := waitfor.Until(20*time.Second, func() error {
		nc, err := nats.Connect(url)
		if err != nil {
			return err
		}
		defer nc.Close()
		js, _ := jetstream.New(nc)
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_, err = js.AccountInfo(ctx) // JetStream reachable through the leaf
		return err
	}); err != nil {
		b.Fatalf("leaf node: %v", err)
	}
	return url, cmd.Process.Pid
}

// rssKiB reads a process's resident set size.
func rssKiB(b *testing.B, pid int) int64 {
	b.Helper()
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return n
		}
	}
	b.Fatal("no VmRSS")
	return 0
}

// cpuTime reads a process's user and system CPU time (clock ticks of
// 10 ms, as Linux reports them in /proc).
func cpuTime(b *testing.B, pid int) time.Duration {
	b.Helper()
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		b.Fatal(err)
	}
	// Fields after the command name (which is in parentheses): utime is
	// the 12th, stime the 13th.
	_, rest, _ := strings.Cut(string(raw), ") ")
	f := strings.Fields(rest)
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * 10 * time.Millisecond
}

// selfCPUTime is this process's user and system CPU time.
func selfCPUTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func heapInUse() uint64 {
	var ms runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&ms)
	return ms.HeapInuse
}
