package faults_test

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"

	"github.com/sessiond/sessiond/faults"
)

// outDir is where failing runs are kept (ignored by git).
func outDir(seed uint64) string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "out", fmt.Sprintf("seed-%d", seed))
}

// report logs the run's figures and, when a promise was broken, saves the
// seed, the history, porcupine's visualisation and the logs, and prints
// the replay command.
func (r *run) report(t *testing.T, ops []faults.Op, st logState, lin linResult) {
	c := r.c
	outcomes := map[string]int{}
	for _, o := range ops {
		outcomes[string(o.Kind)+" "+string(o.Outcome)]++
	}
	var injected []string
	total := 0
	for k, n := range r.nem.injected {
		injected = append(injected, fmt.Sprintf("%s ×%d", k, n))
		total += n
	}
	sort.Strings(injected)
	var checks, tokens int64
	for _, e := range r.edges {
		checks += e.checks.Load()
		tokens += e.tokenChecks.Load()
	}
	vs := c.Violations()
	byPromise := map[string]int{}
	for _, v := range vs {
		byPromise[v.Promise+" ["+v.Checker+"]"]++
	}
	c.mu.Lock()
	for p, n := range c.repeats {
		byPromise[p+" (not kept)"] += n
	}
	c.mu.Unlock()
	errLines := 0 // error-level lines in the replicas' logs: not a promise, but worth a look
	for _, rep := range c.reps {
		if b, err := os.ReadFile(rep.logPath); err == nil {
			errLines += strings.Count(string(b), `"level":"ERROR"`)
		}
	}
	summary := fmt.Sprintf("seed %d: %d operations (%s), %d faults injected (%s), %d revocations in the log, %d verifier checks, %d token checks, %d error-level log lines, linearizability %s over %d operations, %d violations (%s)",
		r.seed, len(ops), joinCounts(outcomes), total, strings.Join(injected, ", "), len(st.revoked), checks, tokens,
		errLines, lin.result, lin.ops, len(vs), joinCounts(byPromise))
	t.Log(summary)
	c.note("%s", summary)
	if len(vs) == 0 && !t.Failed() {
		return
	}

	dir := outDir(r.seed)
	_ = os.RemoveAll(dir)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Errorf("save: %v", err)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s\n\n", summary)
	for _, v := range vs {
		fmt.Fprintln(&b, v)
	}
	_ = os.WriteFile(filepath.Join(dir, "violations.txt"), []byte(b.String()), 0o644)
	_ = os.WriteFile(filepath.Join(dir, "seed"), []byte(fmt.Sprintf("%d\n", r.seed)), 0o644)
	if err := c.hist.Save(filepath.Join(dir, "history.json")); err != nil {
		t.Errorf("save history: %v", err)
	}
	var notes []porcupine.Annotation
	for _, w := range r.nem.windows {
		notes = append(notes, porcupine.Annotation{Tag: "nemesis", Start: w.start, End: w.end,
			Description: string(w.fault.Kind), Details: w.fault.String(), BackgroundColor: "#f4c7c3"})
	}
	lin.info.AddAnnotations(notes)
	if err := porcupine.VisualizePath(faults.Model, lin.info, filepath.Join(dir, "linearizability.html")); err != nil {
		t.Logf("visualisation: %v", err)
	}
	if lin.result == porcupine.Illegal {
		_ = os.WriteFile(filepath.Join(dir, "linearizability.txt"), []byte(lin.explain), 0o644)
	}
	for _, name := range []string{"nemesis.log", "replica-0.log", "replica-1.log"} {
		copyFile(filepath.Join(c.dir, name), filepath.Join(dir, name))
	}
	shown := map[string]bool{} // the first violation of each promise and checker
	for _, v := range vs {
		if kind := v.Promise + " [" + v.Checker + "]"; !shown[kind] {
			shown[kind] = true
			t.Errorf("%s", v)
		}
	}
	t.Errorf("%d violations in all (%s)", len(vs), joinCounts(byPromise))
	t.Errorf("saved the seed, history, linearizability.html and logs in %s\nreplay: %s", dir, r.replay())
}

// replay is the command that runs this schedule again.
func (r *run) replay() string {
	env := fmt.Sprintf("FAULTS_SEED=%d FAULTS_DURATION=%d", r.seed, int(r.dur/time.Second))
	for _, k := range []string{"FAULTS_503"} {
		if v := os.Getenv(k); v != "" {
			env += " " + k + "=" + v
		}
	}
	return env + " go test -count=1 -run TestFaults ./faults"
}

func joinCounts(m map[string]int) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s %d", k, m[k])
	}
	return strings.Join(parts, ", ")
}

func copyFile(from, to string) {
	in, err := os.Open(from)
	if err != nil {
		return
	}
	defer in.Close()
	out, err := os.Create(to)
	if err != nil {
		return
	}
	defer out.Close()
	_, _ = io.Copy(out, in)
}
