package bench

import (
	"sort"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// Latencies are recorded in microseconds, from 1 µs to 5 minutes, to three
// significant digits.
const (
	minMicros = 1
	maxMicros = int64(5 * time.Minute / time.Microsecond)
	sigFigs   = 3
)

func newHist() *hdrhistogram.Histogram { return hdrhistogram.New(minMicros, maxMicros, sigFigs) }

// Phase is one measured phase: how many operations succeeded, how long it
// took, their latency distribution, completions in each second, and the
// failures by kind.
type Phase struct {
	Name      string
	Ops       int
	Elapsed   time.Duration
	Latency   *hdrhistogram.Histogram // microseconds
	PerSecond []int                   // successful completions in second i of the phase
	Errors    map[string]int          // "503 UNAVAILABLE", "transport", …
	CPU       CPU                     // the machine's CPU use during the phase
}

// Throughput is successful operations a second.
func (p *Phase) Throughput() float64 {
	if p.Elapsed <= 0 {
		return 0
	}
	return float64(p.Ops) / p.Elapsed.Seconds()
}

// ErrorCount is the number of failed operations.
func (p *Phase) ErrorCount() int {
	n := 0
	for _, c := range p.Errors {
		n += c
	}
	return n
}

// ErrorKinds lists the failures, most frequent first.
func (p *Phase) ErrorKinds() []string {
	kinds := make([]string, 0, len(p.Errors))
	for k := range p.Errors {
		kinds = append(kinds, k)
	}
	sort.Slice(kinds, func(i, j int) bool { return p.Errors[kinds[i]] > p.Errors[kinds[j]] })
	return kinds
}

// recorder is one worker's share of a phase; workers never share one.
type recorder struct {
	start     time.Time
	ops       int
	hist      *hdrhistogram.Histogram
	perSecond []int
	errors    map[string]int
}

func newRecorder(start time.Time) *recorder {
	return &recorder{start: start, hist: newHist(), errors: map[string]int{}}
}

func (r *recorder) ok(began, done time.Time) {
	r.ops++
	_ = r.hist.RecordValue(max(done.Sub(began).Microseconds(), minMicros))
	sec := int(done.Sub(r.start) / time.Second)
	for len(r.perSecond) <= sec {
		r.perSecond = append(r.perSecond, 0)
	}
	r.perSecond[sec]++
}

func (r *recorder) fail(kind string) { r.errors[kind]++ }

// merge folds workers' recorders into one phase.
func merge(name string, elapsed time.Duration, rs []*recorder) *Phase {
	p := &Phase{Name: name, Elapsed: elapsed, Latency: newHist(), Errors: map[string]int{}}
	for _, r := range rs {
		p.Ops += r.ops
		p.Latency.Merge(r.hist)
		for k, v := range r.errors {
			p.Errors[k] += v
		}
		for len(p.PerSecond) < len(r.perSecond) {
			p.PerSecond = append(p.PerSecond, 0)
		}
		for i, v := range r.perSecond {
			p.PerSecond[i] += v
		}
	}
	return p
}
