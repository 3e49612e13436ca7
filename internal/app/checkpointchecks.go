package app

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/sessiond/sessiond/domain"
	"github.com/sessiond/sessiond/eventstore"
	"github.com/sessiond/sessiond/internal/auditkey"
)

// checkLogged checks the checkpoints in the log: signature, link to the
// previous one, and (through v.checks) the hash they sign.
func (v *verification) checkLogged() {
	var prev *logged
	chained := false
	for i := range v.cps {
		c := &v.cps[i]
		if c.cp.Position > v.to {
			break
		}
		v.inLog[c.cp.Signature] = true
		v.rep.InLog++
		what := fmt.Sprintf("the checkpoint at position %d", c.pos)
		brk := func(kind, reason string, from, to int64) {
			b := eventstore.Break{Position: c.pos, Kind: kind, From: from, To: to, Type: domain.TypeAuditCheckpoint, StreamID: domain.CheckpointStream, Reason: reason}
			if r, _, _ := v.at(c.pos); r != nil {
				b.Locate(r)
			}
			v.rep.Breaks = append(v.rep.Breaks, b)
		}
		if !v.rep.Unsigned {
			keys := v.trusted
			if c.cp.Previous == nil {
				keys = v.legacy
			}
			if err := checkCheckpointSignature(c.cp, keys); err != nil {
				reason := what + ": " + err.Error()
				if c.cp.Previous == nil && errors.Is(err, auditkey.ErrUnknownKey) {
					reason += " (it predates the audit key: give the session-token JWKS that held its key with --jwks)"
				}
				brk(eventstore.BreakSignature, reason, c.pos, c.pos)
				prev = c
				continue
			}
		}
		switch {
		case c.cp.Previous == nil && chained:
			brk(eventstore.BreakDeleted, what+" does not name the checkpoint before it, although earlier checkpoints do: it was forged or replaced", c.pos, c.pos)
		case c.cp.Previous != nil && prev == nil && v.o.From > 1:
			chained = true // its predecessor lies before the walk
		case c.cp.Previous != nil:
			chained = true
			want := int64(0)
			if prev != nil {
				want = prev.pos
			}
			switch {
			case c.cp.Previous.EventPosition != want && prev == nil:
				brk(eventstore.BreakDeleted, fmt.Sprintf("%s names an earlier checkpoint at position %d, but there is none before it in the log: checkpoints were deleted", what, c.cp.Previous.EventPosition), 1, c.pos)
			case c.cp.Previous.EventPosition != want:
				brk(eventstore.BreakDeleted, fmt.Sprintf("%s names the checkpoint before it at position %d, but the one before it in the log is at position %d: a checkpoint was deleted or moved between them",
					what, c.cp.Previous.EventPosition, want), want, c.pos)
			case prev != nil && c.cp.Previous.EventHash != "" && c.cp.Previous.EventHash != prev.hash:
				brk(eventstore.BreakSigned, fmt.Sprintf("%s signs hash %s for the checkpoint at position %d, but the log has %s there: the log up to position %d was changed after it was signed",
					what, shortHex(c.cp.Previous.EventHash), want, shortHex(prev.hash), want), 1, want)
			}
		}
		v.checks = append(v.checks, signedCheck{c.cp.Position, c.cp.Hash, what})
		prev = c
	}
}

// checkKept checks the checkpoints kept outside the log (--checkpoint and
// the witnesses): signature, that each witnessed one is still in the log,
// and (through v.checks) the hash it signs.
func (v *verification) checkKept() {
	sources := []WitnessCopy{{Name: "--checkpoint", Checkpoints: v.o.External}}
	sources = append(sources, v.o.Witnesses...)
	for _, w := range sources {
		witness := w.Name != "--checkpoint"
		if witness {
			v.rep.Witnessed[w.Name] += 0 // listed even when it holds none
		}
		done := map[string]bool{}
		for i, jws := range w.Checkpoints {
			if done[jws] {
				continue // witnesses may hold a checkpoint twice (retries)
			}
			done[jws] = true
			what := fmt.Sprintf("checkpoint %d of %s", i+1, w.Name)
			p, err := openCheckpoint(jws, v.legacy, v.rep.Unsigned)
			if err != nil {
				v.rep.Breaks = append(v.rep.Breaks, eventstore.Break{Kind: eventstore.BreakSignature, Reason: what + ": " + err.Error()})
				continue
			}
			if p.Position > v.head {
				v.rep.Breaks = append(v.rep.Breaks, eventstore.Break{Position: v.head, Kind: eventstore.BreakMissing, From: v.head + 1, To: p.Position,
					Reason: fmt.Sprintf("%s signs position %d, but the log ends at %d: events were deleted from its end", what, p.Position, v.head)})
				continue
			}
			if p.Position > v.to || p.Position < v.o.From {
				continue
			}
			what = fmt.Sprintf("the checkpoint of position %d signed at %s (%s)", p.Position, p.SignedAt.Format(time.RFC3339), w.Name)
			switch {
			case !witness:
				v.rep.External++
			case v.inLog[jws]:
				v.rep.Witnessed[w.Name]++
				v.rep.Covered[w.Name]++
			default:
				v.rep.Witnessed[w.Name]++
				if v.to == v.head {
					v.rep.Breaks = append(v.rep.Breaks, eventstore.Break{Position: p.Position, Kind: eventstore.BreakDeleted, From: p.Position, To: v.to,
						Type: domain.TypeAuditCheckpoint, StreamID: domain.CheckpointStream,
						Reason: what + " is not in the log: the checkpoint was deleted from it"})
				}
			}
			v.checks = append(v.checks, signedCheck{p.Position, p.Hash, what})
		}
	}
}

// checkCheckpointSignature checks an in-log checkpoint's JWS and that its
// fields are what it signs.
func checkCheckpointSignature(cp domain.AuditCheckpoint, trusted auditkey.Keys) error {
	p, err := openCheckpoint(cp.Signature, trusted, false)
	if err != nil {
		return err
	}
	same := p.Position == cp.Position && p.Hash == cp.Hash
	if (p.Previous == nil) != (cp.Previous == nil) || (p.Previous != nil && *p.Previous != *cp.Previous) {
		same = false
	}
	if !same {
		return fmt.Errorf("its fields differ from what its signature signs (signed: position %d, hash %s): it was edited", p.Position, shortHex(p.Hash))
	}
	return nil
}

// openCheckpoint returns what a checkpoint JWS signs, checking the
// signature unless unsigned.
func openCheckpoint(jws string, trusted auditkey.Keys, unsigned bool) (CheckpointPayload, error) {
	var (
		payload []byte
		err     error
	)
	if unsigned {
		payload, err = auditkey.Payload(jws)
	} else {
		payload, _, err = auditkey.Verify(jws, trusted)
	}
	var p CheckpointPayload
	if err != nil {
		return p, err
	}
	if json.Unmarshal(payload, &p) != nil || p.Type != CheckpointType {
		return p, fmt.Errorf("it is not a sessiond audit checkpoint")
	}
	return p, nil
}

// compareSigned checks every "hash at P is H" claim against the log and
// reports each mismatch once per position, with the narrowest range: after
// the nearest position a checkpoint still vouches for.
func compareSigned(checks []signedCheck, at func(int64) (*eventstore.Recorded, []byte, error), from int64, rep *AuditReport) error {
	sort.SliceStable(checks, func(i, j int) bool { return checks[i].position < checks[j].position })
	good := int64(0)
	if from > 1 {
		good = from - 1
	}
	for i := 0; i < len(checks); {
		j := i
		for j < len(checks) && checks[j].position == checks[i].position {
			j++
		}
		pos := checks[i].position
		r, h, err := at(pos)
		if err != nil {
			return err
		}
		var claims []string
		for _, c := range checks[i:j] {
			if r == nil || hex.EncodeToString(h) != c.hash {
				claims = append(claims, c.what)
			}
		}
		if len(claims) == 0 {
			good = pos
		} else {
			b := eventstore.Break{Position: pos, Kind: eventstore.BreakSigned, From: good + 1, To: pos}
			if r == nil {
				b.Reason = fmt.Sprintf("position %d is missing, yet %s signed it: events were deleted after position %d", pos, strings.Join(claims, " and "), good)
			} else {
				b.Locate(r)
				b.Reason = fmt.Sprintf("the log at position %d differs from what %s vouches for (log hash %s, signed %s): an event between positions %d and %d was changed after it was signed",
					pos, strings.Join(claims, " and "), shortHex(hex.EncodeToString(h)), shortHex(checks[i].hash), good+1, pos)
			}
			rep.Breaks = append(rep.Breaks, b)
		}
		i = j
	}
	return nil
}

func shortHex(s string) string {
	if len(s) > 16 {
		return s[:16] + "…"
	}
	return s
}
