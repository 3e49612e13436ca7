package server

import (
	"fmt"
	"io"
	"os"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
)

// meter shows a long command's progress on stderr: done of the total, the
// rate and the time left. A nil *meter shows nothing, so commands call it
// unconditionally.
type meter struct {
	bar *progressbar.ProgressBar
}

// meterUnit is what a meter counts.
type meterUnit int

const (
	unitEvents meterUnit = iota
	unitBytes
)

// newMeter returns a meter on stderr for work of total units (-1:
// unknown), or nil when quiet is set or stderr is not a terminal, so that
// scripts and logs never see progress.
func (m *Main) newMeter(quiet bool, what string, total int64, unit meterUnit) *meter {
	if quiet || total == 0 || !m.isTerminal(m.Stderr) {
		return nil
	}
	opts := []progressbar.Option{
		progressbar.OptionSetWriter(m.Stderr),
		progressbar.OptionSetDescription(what),
		progressbar.OptionSetWidth(24),
		progressbar.OptionShowCount(),
		progressbar.OptionShowIts(),
		progressbar.OptionSetPredictTime(true),
		progressbar.OptionShowElapsedTimeOnFinish(),
		progressbar.OptionThrottle(200 * time.Millisecond),
		progressbar.OptionSetRenderBlankState(true),
		progressbar.OptionOnCompletion(func() { fmt.Fprintln(m.Stderr) }),
	}
	if unit == unitBytes {
		opts = append(opts, progressbar.OptionShowBytes(true))
	} else {
		opts = append(opts, progressbar.OptionSetItsString("events"))
	}
	return &meter{bar: progressbar.NewOptions64(total, opts...)}
}

// set records that n units are done.
func (p *meter) set(n int64) {
	if p != nil {
		_ = p.bar.Set64(n)
	}
}

// finish shows the work complete and ends the line.
func (p *meter) finish() {
	switch {
	case p == nil || p.bar.IsFinished():
	case p.bar.GetMax64() < 0: // a spinner: there is no full bar to show
		_ = p.bar.Exit()
	default:
		_ = p.bar.Finish()
	}
}

// stop ends the line where the work stopped (on an error), so what
// follows on stderr starts on a line of its own.
func (p *meter) stop() {
	if p != nil && !p.bar.IsFinished() {
		_ = p.bar.Exit() // ends the line
	}
}

// isTerminal reports whether w is a terminal (Main.IsTerminal decides in
// tests).
func (m *Main) isTerminal(w io.Writer) bool {
	if m.IsTerminal != nil {
		return m.IsTerminal(w)
	}
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}
