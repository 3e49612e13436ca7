package server

import (
	"bytes"
	"encoding/json"
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

// newMeter returns a meter on stderr for total events (-1: unknown, a
// spinner counting them), or nil when quiet is set or stderr is not a terminal, so that
// scripts and logs never see progress.
func (m *Main) newMeter(quiet bool, what string, total int64) *meter {
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
		progressbar.OptionSetItsString("events"),
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

// exportLength is how many events the export in f holds, read from the
// position of its last line when f is a regular file; -1 otherwise.
func exportLength(f *os.File) int64 {
	st, err := f.Stat()
	if err != nil || !st.Mode().IsRegular() || st.Size() == 0 {
		return -1
	}
	off := max(st.Size()-1<<20, 0) // an event line is far shorter than 1 MiB
	tail := make([]byte, st.Size()-off)
	if _, err := f.ReadAt(tail, off); err != nil {
		return -1
	}
	tail = bytes.TrimRight(tail, "\n")
	var last struct {
		Position int64 `json:"position"`
	}
	if err := json.Unmarshal(tail[bytes.LastIndexByte(tail, '\n')+1:], &last); err != nil || last.Position < 1 {
		return -1
	}
	return last.Position
}
