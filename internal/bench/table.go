package bench

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// Percentiles shown in the table and the report.
var percentiles = []float64{50, 90, 99, 99.9}

func ms(micros int64) string {
	return fmt.Sprintf("%.2f", float64(micros)/1000)
}

// WriteTable prints the figures as an aligned table.
func (r *Result) WriteTable(w io.Writer) {
	c := r.Config
	pace := "full speed"
	if c.Rate > 0 {
		pace = fmt.Sprintf("%.0f revocations/s", c.Rate)
	}
	fmt.Fprintf(w, "sessiond bench: %d sessions, %d clients, %s, %d verifier(s)", c.Sessions, c.Clients, pace, c.Verifiers)
	if c.Store != "" {
		fmt.Fprintf(w, ", store %s", c.Store)
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "phase\tops\tsecs\tops/s\tp50 ms\tp90 ms\tp99 ms\tp99.9 ms\tmax ms\terrors\tbusy %\tcpu µs/op\t")
	row := func(name string, ops int, elapsed time.Duration, h *hdrhistogram.Histogram, errs int, cpu CPU) {
		secs, rate := "-", "-"
		if elapsed > 0 {
			secs = fmt.Sprintf("%.2f", elapsed.Seconds())
			rate = fmt.Sprintf("%.0f", float64(ops)/elapsed.Seconds())
		}
		cells := []string{name, fmt.Sprint(ops), secs, rate}
		for _, p := range percentiles {
			cells = append(cells, ms(h.ValueAtPercentile(p)))
		}
		cells = append(cells, ms(h.Max()), fmt.Sprint(errs))
		if cpu.Known {
			cells = append(cells, fmt.Sprintf("%.0f", 100*cpu.Share()), fmt.Sprintf("%.0f", float64(cpu.PerOp(ops))/1e3))
		} else {
			cells = append(cells, "-", "-")
		}
		fmt.Fprintln(tw, strings.Join(cells, "\t")+"\t")
	}
	row("start", r.Start.Ops, r.Start.Elapsed, r.Start.Latency, r.Start.ErrorCount(), r.Start.CPU)
	if r.Revoke != nil {
		row("revoke", r.Revoke.Ops, r.Revoke.Elapsed, r.Revoke.Latency, r.Revoke.ErrorCount(), r.Revoke.CPU)
	}
	if r.Propagation != nil {
		row("propagation", int(r.Propagation.TotalCount()), 0, r.Propagation, r.Missing, CPU{})
	}
	if y := r.Yardstick; y != nil {
		row("yardstick", y.Phase.Ops, y.Phase.Elapsed, y.Phase.Latency, y.Phase.ErrorCount(), y.Phase.CPU)
	}
	tw.Flush()
	if r.Revoke != nil {
		fmt.Fprintf(w, "broadcast: %d published, %d pending\n", r.Broadcast["published"], r.Broadcast["pending"])
	}
	if r.Propagation != nil {
		fmt.Fprintf(w, "propagation: from sending the DELETE until each verifier's Check answers ErrRevoked (%d verifier(s); errors = pairs never applied)\n", c.Verifiers)
	}
	if y := r.Yardstick; y != nil {
		fmt.Fprintf(w, "yardstick: pgbench's single-row INSERT, %d clients, %s\n", c.Clients, y.Where)
		fmt.Fprintf(w, "ratio: revoke %.0f/s ÷ yardstick %.0f/s = %.2f×\n", r.Revoke.Throughput(), y.Phase.Throughput(), r.Ratio())
		if rc, yc := r.Revoke.CPU, y.Phase.CPU; rc.Known && yc.Known && yc.PerOp(y.Phase.Ops) > 0 {
			fmt.Fprintf(w, "cpu: the whole machine's (%d cores) busy time per operation: revoke %.0f µs, yardstick %.0f µs = %.2f×\n",
				rc.Cores, float64(rc.PerOp(r.Revoke.Ops))/1e3, float64(yc.PerOp(y.Phase.Ops))/1e3,
				float64(rc.PerOp(r.Revoke.Ops))/float64(yc.PerOp(y.Phase.Ops)))
		}
	}
	if c := r.Revoke; c != nil && c.CPU.Known {
		fmt.Fprintf(w, "busy %%: the share of the machine's cores busy during the phase (all processes: server, database, NATS, load generator); near 100, the run was limited by CPU\n")
	}
	for _, p := range []*Phase{r.Start, r.Revoke} {
		if p == nil {
			continue
		}
		for _, k := range p.ErrorKinds() {
			fmt.Fprintf(w, "%s errors: %d × %s\n", p.Name, p.Errors[k], k)
		}
	}
}
