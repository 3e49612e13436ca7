package server_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"

	"github.com/sessiond/sessiond/internal/pgtest"
	"github.com/sessiond/sessiond/internal/server"
)

// runBench runs `sessiond bench` with env and returns its stdout.
func runBench(t *testing.T, vars map[string]string, args ...string) string {
	t.Helper()
	var out, errOut bytes.Buffer
	m := server.NewMain()
	m.Stdout, m.Stderr = &out, &errOut
	m.Getenv = env(vars)
	m.Logger = slog.New(slog.NewJSONHandler(io.Discard, nil))
	if err := m.Run(context.Background(), append([]string{"bench"}, args...)); err != nil {
		t.Fatalf("bench: %v\nstdout:\n%s\nstderr:\n%s", err, out.String(), errOut.String())
	}
	return out.String()
}

// row returns the cells of the table row that starts with name.
func row(t *testing.T, table, name string) []string {
	t.Helper()
	for _, line := range strings.Split(table, "\n") {
		if f := strings.Fields(line); len(f) > 0 && f[0] == name {
			return f
		}
	}
	t.Fatalf("no %q row in:\n%s", name, table)
	return nil
}

// TestBenchEmbedded: a short run on the embedded store prints every phase
// with every session accounted for, and writes a self-contained report
// with its three plots.
func TestBenchEmbedded(t *testing.T) {
	report := filepath.Join(t.TempDir(), "bench.html")
	out := runBench(t, map[string]string{}, "--embedded", "--sessions", "150", "--clients", "4",
		"--verifiers", "2", "--report", report)
	// phase ops secs ops/s p50 p90 p99 p99.9 max errors busy% cpu-µs/op
	for _, name := range []string{"start", "revoke"} {
		r := row(t, out, name)
		if len(r) != 12 || r[1] != "150" || r[9] != "0" {
			t.Errorf("%s row = %v, want 150 ops and 0 errors", name, r)
			continue
		}
		// The machine's CPU during the phase, where the kernel tells it.
		if runtime.GOOS == "linux" && (atoi(r[10]) < 0 || atoi(r[10]) > 100 || atoi(r[11]) <= 0) {
			t.Errorf("%s row = %v, want busy %% in 0–100 and a CPU time per operation", name, r)
		}
	}
	// Two verifiers each apply all 150 revocations.
	if r := row(t, out, "propagation"); r[1] != "300" || r[9] != "0" {
		t.Errorf("propagation row = %v, want 300 deliveries, none missing", r)
	}
	m := regexp.MustCompile(`broadcast: (\d+) published, (\d+) pending`).FindStringSubmatch(out)
	if m == nil || atoi(m[1])+atoi(m[2]) != 150 {
		t.Errorf("broadcast line missing or not 150 in all:\n%s", out)
	}

	page, err := os.ReadFile(report)
	if err != nil {
		t.Fatal(err)
	}
	html := string(page)
	imgs := regexp.MustCompile(`<img src="data:image/svg&#43;xml;base64,([A-Za-z0-9+/=&#;]+)" alt="([^"]+)">`).FindAllStringSubmatch(html, -1)
	if got, want := len(imgs), 3; got != want {
		t.Fatalf("report has %d inline SVG plots, want %d (latency, throughput, propagation)", got, want)
	}
	for _, img := range imgs {
		svg, err := base64.StdEncoding.DecodeString(strings.ReplaceAll(img[1], "&#43;", "+"))
		if err != nil || !bytes.Contains(svg, []byte("<svg")) {
			t.Errorf("plot %q is not an SVG image: %v", img[2], err)
		}
	}
	for _, want := range []string{"Latency distribution", "Throughput over time", "Propagation", "revoke"} {
		if !strings.Contains(html, want) {
			t.Errorf("report lacks %q", want)
		}
	}
	// Self-contained: nothing to fetch when opened offline.
	if regexp.MustCompile(`(src|href)="(https?:)?//`).MatchString(html) {
		t.Error("report loads something from the network")
	}
}

// TestBenchYardstick: with --database-url the same run measures the INSERT
// yardstick on that server and prints the ratio.
func TestBenchYardstick(t *testing.T) {
	out := runBench(t, map[string]string{"DATABASE_URL": pgtest.AdminURL(t)}, "--embedded", "--sessions", "100",
		"--clients", "2", "--verifiers", "0", "--yardstick-seconds", "0.5")
	if r := row(t, out, "yardstick"); len(r) != 12 || atoi(r[1]) == 0 || r[9] != "0" {
		t.Errorf("yardstick row = %v, want some INSERTs and no errors", r)
	}
	if !regexp.MustCompile(`ratio: revoke \d+/s ÷ yardstick \d+/s = \d+\.\d\d×`).MatchString(out) {
		t.Errorf("no ratio line:\n%s", out)
	}
	if runtime.GOOS == "linux" && !regexp.MustCompile(`cpu: .* revoke \d+ µs, yardstick \d+ µs = \d+\.\d\d×`).MatchString(out) {
		t.Errorf("no CPU ratio line:\n%s", out)
	}
}

func atoi(s string) int {
	n := 0
	for _, c := range s {
		if c < '0' || c > '9' {
			return -1
		}
		n = n*10 + int(c-'0')
	}
	return n
}
