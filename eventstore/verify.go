package eventstore

import (
	"bytes"
	"encoding/hex"
	"fmt"
)

// Break is the first place where a log fails verification.
type Break struct {
	Position int64
	Reason   string
}

// Error implements error, so a Break can be returned as one.
func (b *Break) Error() string {
	return fmt.Sprintf("chain broken at position %d: %s", b.Position, b.Reason)
}

// VerifyResult summarizes a chain walk.
type VerifyResult struct {
	From, To int64  // positions checked, inclusive; To is 0 if none
	Checked  int64  // events checked
	HeadHash []byte // hash of the last event checked
	Broken   *Break // nil when intact
}

// ChainWalker checks a log one event at a time, in position order. It is
// what every store's Verify feeds.
type ChainWalker struct {
	next   int64
	prev   []byte
	result VerifyResult
}

// NewChainWalker starts a walk at position from, trusting prevHash as the
// hash of position from-1 (GenesisHash when from is 1).
func NewChainWalker(from int64, prevHash []byte) *ChainWalker {
	return &ChainWalker{next: from, prev: prevHash, result: VerifyResult{From: from}}
}

// Step checks r. It returns the break it found, or nil; after a break the
// walk is over and further steps return the same break.
func (w *ChainWalker) Step(r *Recorded) *Break {
	if w.result.Broken != nil {
		return w.result.Broken
	}
	b := w.check(r)
	if b != nil {
		w.result.Broken = b
		return b
	}
	w.result.Checked++
	w.result.To = r.Position
	w.result.HeadHash = r.Hash
	w.prev = r.Hash
	w.next = r.Position + 1
	return nil
}

func (w *ChainWalker) check(r *Recorded) *Break {
	if r.Position != w.next {
		if r.Position > w.next {
			return &Break{Position: w.next, Reason: fmt.Sprintf("position %d is missing (next present is %d)", w.next, r.Position)}
		}
		return &Break{Position: r.Position, Reason: fmt.Sprintf("position %d out of order (expected %d)", r.Position, w.next)}
	}
	if !bytes.Equal(r.PrevHash, w.prev) {
		return &Break{Position: r.Position, Reason: fmt.Sprintf("prev_hash %s does not match the hash of position %d (%s)",
			short(r.PrevHash), r.Position-1, short(w.prev))}
	}
	want, err := ComputeHash(w.prev, r)
	if err != nil {
		return &Break{Position: r.Position, Reason: err.Error()}
	}
	if !bytes.Equal(r.Hash, want) {
		return &Break{Position: r.Position, Reason: fmt.Sprintf("hash %s does not match the row's contents (recomputed %s)", short(r.Hash), short(want))}
	}
	return nil
}

// Finish ends the walk. If to is positive and the walk stopped short of it
// without a break, the missing tail is reported.
func (w *ChainWalker) Finish(to int64) VerifyResult {
	if w.result.Broken == nil && to > 0 && w.next <= to {
		w.result.Broken = &Break{Position: w.next, Reason: fmt.Sprintf("position %d is missing (log ends at %d)", w.next, w.next-1)}
	}
	return w.result
}

func short(b []byte) string {
	s := hex.EncodeToString(b)
	if len(s) > 16 {
		return s[:16] + "…"
	}
	return s
}
