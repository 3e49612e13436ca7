package faults_test

import (
	"bufio"
	"context"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/sessiond/sessiond/internal/netfault"
)

// replica is one sessiond process, reaching PostgreSQL and NATS through
// its own proxies. A supervisor keeps it running while it is wanted, as
// systemd would: a start that fails (PostgreSQL down) is retried.
type replica struct {
	id        int
	addr      string // HTTP host:port, kept across restarts
	pgProxy   *netfault.Proxy
	natsProxy *netfault.Proxy
	env       []string
	logPath   string
	note      func(format string, args ...any) // the nemesis log

	want  atomic.Bool
	mu    sync.Mutex
	cmd   *exec.Cmd
	done  chan struct{} // closed when cmd exits
	start atomic.Int64  // process starts
}

func (r *replica) url() string { return "http://" + r.addr }

// supervise keeps the process running while wanted, until ctx ends.
func (r *replica) supervise(ctx context.Context) {
	t := time.NewTicker(200 * time.Millisecond)
	defer t.Stop()
	for {
		if r.want.Load() && !r.running() {
			r.spawn()
		}
		select {
		case <-ctx.Done():
			r.kill()
			return
		case <-t.C:
		}
	}
}

func (r *replica) running() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.done == nil {
		return false
	}
	select {
	case <-r.done:
		return false
	default:
		return true
	}
}

func (r *replica) spawn() {
	r.mu.Lock()
	defer r.mu.Unlock()
	logf, err := os.OpenFile(r.logPath, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		r.note("replica %d: log: %v", r.id, err)
		return
	}
	cmd := exec.Command(sessiondBin, "--http-addr", r.addr)
	cmd.Env = append(os.Environ(), r.env...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL} // dies with the test
	if err := cmd.Start(); err != nil {
		logf.Close()
		r.note("replica %d: start: %v", r.id, err)
		return
	}
	n := r.start.Add(1)
	if n > 1 {
		r.note("replica %d: process started (start %d, pid %d)", r.id, n, cmd.Process.Pid)
	}
	done := make(chan struct{})
	r.cmd, r.done = cmd, done
	go func() {
		err := cmd.Wait()
		logf.Close()
		if r.want.Load() {
			r.note("replica %d: process exited by itself: %v", r.id, err)
		}
		close(done)
	}()
}

// kill sends SIGKILL and waits for the process to go; the supervisor
// leaves it down until revive.
func (r *replica) kill() {
	r.want.Store(false)
	r.mu.Lock()
	cmd, done := r.cmd, r.done
	r.mu.Unlock()
	if cmd == nil || done == nil {
		return
	}
	_ = cmd.Process.Signal(syscall.SIGKILL)
	<-done
}

func (r *replica) revive() { r.want.Store(true) }

// ready reports whether /readyz answers 200.
func (r *replica) ready() bool {
	c := http.Client{Timeout: time.Second}
	resp, err := c.Get(r.url() + "/readyz")
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// leader reports whether the replica says it runs the relay: the metric
// sessiond_broadcast_leader is 1.
func (r *replica) leader() bool {
	c := http.Client{Timeout: time.Second}
	resp, err := c.Get(r.url() + "/metrics")
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if strings.HasPrefix(sc.Text(), "sessiond_broadcast_leader ") {
			return strings.TrimSpace(strings.TrimPrefix(sc.Text(), "sessiond_broadcast_leader ")) == "1"
		}
	}
	return false
}
