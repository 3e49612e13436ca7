package eventstore

import (
	"bytes"
	"encoding/hex"
	"fmt"
)

// Kinds of Break.
const (
	BreakModified  = "modified"   // a row's contents no longer match its hash
	BreakMissing   = "missing"    // positions are absent (deleted rows)
	BreakLink      = "relinked"   // a row does not link to the one before it (inserted, reordered or replaced)
	BreakOrder     = "order"      // a position repeats or goes backwards
	BreakSignature = "signature"  // a checkpoint's signature does not check out
	BreakSigned    = "signed"     // the log differs from what a checkpoint signed
	BreakDeleted   = "checkpoint" // a checkpoint was removed from the log
	BreakPolicy    = "policy"     // more events without a checkpoint than the policy allows
	BreakKey       = "key"        // an audit key whose introduction does not check out
	BreakDerived   = "derived"    // a read-model row differs from the log's rebuild
	BreakPersonal  = "personal"   // a personal-data value no longer matches its salted reference
)

// Break is one place where a log fails verification.
type Break struct {
	Position int64  // where it was found
	Kind     string // one of the Break… kinds
	// From and To are the narrowest range of positions (inclusive) in
	// which the change must lie.
	From, To int64
	// EventID, Type and StreamID identify the event at Position, when
	// there is one.
	EventID  string
	Type     string
	StreamID string
	// Table and Row name a row outside the log (derived state, personal
	// data) that differs.
	Table, Row string
	Reason     string // plain words
}

// Error implements error, so a Break can be returned as one.
func (b *Break) Error() string {
	return fmt.Sprintf("chain broken at position %d: %s", b.Position, b.Reason)
}

// Locate fills in the identity of the event at the break's position.
func (b *Break) Locate(r *Recorded) {
	if r == nil {
		return
	}
	b.EventID, b.Type, b.StreamID = r.EventID.String(), r.Type, r.StreamID
}

// VerifyResult summarizes a chain walk.
type VerifyResult struct {
	From, To int64  // positions checked, inclusive; To is 0 if none
	Checked  int64  // events checked
	HeadHash []byte // hash of the last event checked
	Broken   *Break // the first break; nil when intact
	Breaks   []Break
}

// ChainWalker checks a log one event at a time, in position order. It is
// what every store's Verify feeds.
type ChainWalker struct {
	next   int64
	prev   []byte
	all    bool
	result VerifyResult
}

// NewChainWalker starts a walk at position from, trusting prevHash as the
// hash of position from-1 (GenesisHash when from is 1). It stops at the
// first break.
func NewChainWalker(from int64, prevHash []byte) *ChainWalker {
	return &ChainWalker{next: from, prev: prevHash, result: VerifyResult{From: from}}
}

// NewFullWalker is NewChainWalker that goes on after a break: it
// resynchronizes on the stored hashes, so each change is reported once
// and the walk finds every one.
func NewFullWalker(from int64, prevHash []byte) *ChainWalker {
	w := NewChainWalker(from, prevHash)
	w.all = true
	return w
}

// Step checks r. It returns the break it found, or nil. A walker made by
// NewChainWalker is over after a break and returns the same break from
// then on.
func (w *ChainWalker) Step(r *Recorded) *Break {
	if w.result.Broken != nil && !w.all {
		return w.result.Broken
	}
	var found *Break
	for _, b := range w.check(r) {
		w.result.Breaks = append(w.result.Breaks, b)
		found = &w.result.Breaks[len(w.result.Breaks)-1]
		if w.result.Broken == nil {
			w.result.Broken = &Break{}
			*w.result.Broken = b
		}
		if !w.all {
			return found
		}
	}
	if r.Position < w.next { // a repeat: not part of the walk
		return found
	}
	if found == nil {
		w.result.Checked++
	}
	w.result.To = r.Position
	w.result.HeadHash = r.Hash
	w.prev = r.Hash
	w.next = r.Position + 1
	return found
}

func (w *ChainWalker) check(r *Recorded) []Break {
	at := func(kind string, from, to int64, format string, args ...any) Break {
		b := Break{Position: r.Position, Kind: kind, From: from, To: to, Reason: fmt.Sprintf(format, args...)}
		b.Locate(r)
		return b
	}
	var out []Break
	if r.Position != w.next {
		if r.Position < w.next {
			return []Break{at(BreakOrder, r.Position, r.Position, "position %d appears again or out of order (expected %d)", r.Position, w.next)}
		}
		out = append(out, Break{Position: w.next, Kind: BreakMissing, From: w.next, To: r.Position - 1,
			Reason: missing(w.next, r.Position-1, r.Position)})
		if !w.all {
			return out
		}
	} else if !bytes.Equal(r.PrevHash, w.prev) {
		out = append(out, at(BreakLink, max(r.Position-1, 1), r.Position,
			"the row at position %d does not link to position %d (prev_hash %s, but position %d's hash is %s): a row was inserted, reordered or replaced here",
			r.Position, r.Position-1, short(r.PrevHash), r.Position-1, short(w.prev)))
		if !w.all {
			return out
		}
	}
	want, err := ComputeHash(r.PrevHash, r)
	if err != nil {
		return append(out, at(BreakModified, r.Position, r.Position, "the row at position %d cannot be encoded: %v", r.Position, err))
	}
	if !bytes.Equal(r.Hash, want) {
		out = append(out, at(BreakModified, r.Position, r.Position,
			"the row at position %d was changed: its contents no longer match its hash %s (they hash to %s)", r.Position, short(r.Hash), short(want)))
	}
	return out
}

func missing(from, to, next int64) string {
	if from == to {
		return fmt.Sprintf("position %d is missing (next present is %d): a row was deleted", from, next)
	}
	return fmt.Sprintf("positions %d to %d are missing (next present is %d): rows were deleted", from, to, next)
}

// Finish ends the walk. If to is positive and the walk stopped short of it
// without a break, the missing tail is reported.
func (w *ChainWalker) Finish(to int64) VerifyResult {
	if (w.result.Broken == nil || w.all) && to > 0 && w.next <= to {
		b := Break{Position: w.next, Kind: BreakMissing, From: w.next, To: to,
			Reason: fmt.Sprintf("position %d is missing (log ends at %d)", w.next, w.next-1)}
		w.result.Breaks = append(w.result.Breaks, b)
		if w.result.Broken == nil {
			w.result.Broken = &b
		}
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
