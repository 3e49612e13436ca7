package app

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/sessiond/sessiond/domain"
	"github.com/sessiond/sessiond/eventstore"
	"github.com/sessiond/sessiond/internal/auditkey"
)

// VerifyLog is what audit verification reads: the log in position order
// and its head.
type VerifyLog interface {
	eventstore.LogReader
}

// WitnessCopy is the checkpoints a witness outside the database holds.
type WitnessCopy struct {
	Name        string   // e.g. "nats stream AUDIT_CHECKPOINTS", "--witness-dir /x"
	Checkpoints []string // JWS, in the order witnessed
}

// Policy is how often checkpoints must appear (the serving configuration).
type Policy struct {
	Every    int64         // events between checkpoints (--checkpoint-every)
	Interval time.Duration // --checkpoint-interval; 0: no time rule
	Grace    time.Duration // how late a due checkpoint may be recorded; default 1m
}

// VerifyOptions says what VerifyAudit checks.
type VerifyOptions struct {
	From, To  int64         // positions (0: from 1, to the head)
	Anchors   auditkey.Keys // audit public keys the auditor trusts
	Legacy    auditkey.Keys // token keys, for checkpoints made before audit keys existed
	External  []string      // checkpoint JWS the auditor kept
	Witnesses []WitnessCopy
	Policy    Policy
	Now       time.Time
	// Model and Personal, when set, are checked against the log: the read
	// model rebuilt in memory, and every personal-data value against its
	// salted reference.
	Model    ModelRows
	Personal PersonalStore
}

// AuditReport is what VerifyAudit found.
type AuditReport struct {
	Chain          eventstore.VerifyResult
	Head           int64 // the log's head when the walk started
	Unsigned       bool  // no trusted key: signatures were not checked
	TrustedKeys    []string
	InLog          int // checkpoint events checked
	External       int
	Witnessed      map[string]int // checkpoints each witness holds (in the range)
	Covered        map[string]int // of the log's checkpoints, how many each witness holds
	ModelRows      int            // read-model rows compared (-1: not checked)
	PersonalValues int            // personal-data values checked (-1: not checked)
	Breaks         []eventstore.Break
}

// logged is what verification remembers of a checkpoint event.
type logged struct {
	pos  int64
	at   time.Time
	hash string
	cp   domain.AuditCheckpoint
}

// signedCheck is one claim "the hash at position is H", from a checkpoint.
type signedCheck struct {
	position int64
	hash     string
	what     string
}

// ringSize is how many recent positions' hashes the walk keeps; older
// ones are read again when a checkpoint signs them.
const ringSize = 1 << 14

type seen struct {
	pos        int64
	hash       []byte
	rec        eventstore.Recorded // without data
	recordedAt time.Time
}

// VerifyAudit checks the log in one pass: the hash chain (every break),
// the audit key history against the auditor's anchors, every checkpoint in
// the log (signature, link to the previous one, signed hash), every
// checkpoint the auditor or a witness kept, the checkpoint policy, and —
// when asked — the read model and the personal data.
func VerifyAudit(ctx context.Context, log VerifyLog, o VerifyOptions) (AuditReport, error) {
	rep := AuditReport{Witnessed: map[string]int{}, Covered: map[string]int{}, ModelRows: -1, PersonalValues: -1}
	head, _, err := log.Head(ctx)
	if err != nil {
		return rep, storeError(err)
	}
	rep.Head = head
	to := o.To
	if to <= 0 || to > head {
		to = head
	}
	var badPersonal map[string]string
	if o.Personal != nil {
		if badPersonal, rep.PersonalValues, err = checkPersonal(ctx, o.Personal); err != nil {
			return rep, err
		}
	}
	var (
		ring     [ringSize]seen
		cps      []logged
		keys     []keyCheck
		model    expectedModel
		personal []eventstore.Break
	)
	if o.Model != nil && o.From <= 1 && to == head {
		model = newExpectedModel() // the read model is the head's: compare only a walk to it
	}
	visit := func(r *eventstore.Recorded) error {
		ring[r.Position%ringSize] = seen{pos: r.Position, hash: r.Hash, rec: eventstore.Recorded{Position: r.Position, EventID: r.EventID, Type: r.Type, StreamID: r.StreamID, RecordedAt: r.RecordedAt}}
		switch r.Type {
		case domain.TypeAuditCheckpoint:
			if e, err := domain.DecodeEvent(r.Type, r.Data); err == nil {
				cps = append(cps, logged{pos: r.Position, at: r.RecordedAt, hash: hex.EncodeToString(r.Hash), cp: e.(domain.AuditCheckpoint)})
			}
		case domain.TypeAuditKeyIntroduced:
			if e, err := domain.DecodeEvent(r.Type, r.Data); err == nil {
				keys = append(keys, keyCheck{pos: r.Position, ev: e.(domain.AuditKeyIntroduced)})
			}
		}
		if model != nil {
			if err := model.apply(r); err != nil {
				return err
			}
		}
		if len(badPersonal) > 0 {
			for ref, field := range personalRefs(r.Metadata) {
				if kind, ok := badPersonal[ref]; ok {
					b := eventstore.Break{Position: r.Position, Kind: eventstore.BreakPersonal, From: r.Position, To: r.Position, Table: "personal_data", Row: ref,
						Reason: fmt.Sprintf("the personal data (%s) that metadata.%s of position %d refers to no longer matches its salted reference: the value was edited", kind, field, r.Position)}
					b.Locate(r)
					personal = append(personal, b)
					delete(badPersonal, ref)
				}
			}
		}
		return nil
	}
	rep.Chain, err = eventstore.WalkLog(ctx, log, o.From, to, visit)
	if err != nil {
		return rep, storeError(err)
	}
	rep.Breaks = append(rep.Breaks, rep.Chain.Breaks...)

	at := func(pos int64) (*eventstore.Recorded, []byte, error) {
		if s := ring[pos%ringSize]; s.pos == pos && pos > 0 {
			return &s.rec, s.hash, nil
		}
		recs, err := log.ReadAll(ctx, pos-1, 1)
		if err != nil || len(recs) == 0 || recs[0].Position != pos {
			return nil, nil, storeError(err)
		}
		return &recs[0], recs[0].Hash, nil
	}

	// Keys: the anchors, extended along the history.
	trusted, keyBreaks := trustKeys(keys, o.Anchors)
	rep.Breaks = append(rep.Breaks, keyBreaks...)
	toSign := len(cps) + len(keys) + len(o.External)
	for _, w := range o.Witnesses {
		toSign += len(w.Checkpoints)
	}
	rep.Unsigned = len(trusted) == 0 && len(o.Legacy) == 0 && toSign > 0
	legacy := auditkey.Keys{}
	for kid, pub := range trusted {
		legacy[kid] = pub
	}
	for kid, pub := range o.Legacy {
		legacy[kid] = pub
	}
	for kid := range trusted {
		rep.TrustedKeys = append(rep.TrustedKeys, kid)
	}
	sort.Strings(rep.TrustedKeys)

	var checks []signedCheck
	inLog := map[string]bool{}
	var prev *logged
	chained := false
	for i := range cps {
		c := &cps[i]
		if c.cp.Position > to {
			break
		}
		inLog[c.cp.Signature] = true
		rep.InLog++
		what := fmt.Sprintf("the checkpoint at position %d", c.pos)
		brk := func(kind, reason string, from, to int64) {
			b := eventstore.Break{Position: c.pos, Kind: kind, From: from, To: to, Type: domain.TypeAuditCheckpoint, StreamID: domain.CheckpointStream, Reason: reason}
			if r, _, _ := at(c.pos); r != nil {
				b.Locate(r)
			}
			rep.Breaks = append(rep.Breaks, b)
		}
		if !rep.Unsigned {
			keys := trusted
			if c.cp.Previous == nil {
				keys = legacy
			}
			if err := checkCheckpointSignature(c.cp, keys); err != nil {
				brk(eventstore.BreakSignature, what+": "+err.Error(), c.pos, c.pos)
				prev = c
				continue
			}
		}
		switch {
		case c.cp.Previous == nil && chained:
			brk(eventstore.BreakDeleted, what+" does not name the checkpoint before it, although earlier checkpoints do: it was forged or replaced", c.pos, c.pos)
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
		checks = append(checks, signedCheck{c.cp.Position, c.cp.Hash, what})
		prev = c
	}

	// Checkpoints kept outside the log.
	sources := []WitnessCopy{{Name: "--checkpoint", Checkpoints: o.External}}
	sources = append(sources, o.Witnesses...)
	for _, w := range sources {
		if w.Name != "--checkpoint" {
			rep.Witnessed[w.Name] += 0 // listed even when it holds none
		}
		done := map[string]bool{}
		for i, jws := range w.Checkpoints {
			if done[jws] {
				continue // witnesses may hold a checkpoint twice (retries)
			}
			done[jws] = true
			what := fmt.Sprintf("checkpoint %d of %s", i+1, w.Name)
			p, err := openCheckpoint(jws, legacy, rep.Unsigned)
			if err != nil {
				rep.Breaks = append(rep.Breaks, eventstore.Break{Kind: eventstore.BreakSignature, Reason: what + ": " + err.Error()})
				continue
			}
			if p.Position > head {
				rep.Breaks = append(rep.Breaks, eventstore.Break{Position: head, Kind: eventstore.BreakMissing, From: head + 1, To: p.Position,
					Reason: fmt.Sprintf("%s signs position %d, but the log ends at %d: events were deleted from its end", what, p.Position, head)})
				continue
			}
			if p.Position > to || p.Position < o.From {
				continue
			}
			if w.Name == "--checkpoint" {
				rep.External++
			} else {
				rep.Witnessed[w.Name]++
			}
			what = fmt.Sprintf("the checkpoint of position %d signed at %s (%s)", p.Position, p.SignedAt.Format(time.RFC3339), w.Name)
			if inLog[jws] && w.Name != "--checkpoint" {
				rep.Covered[w.Name]++
			}
			if !inLog[jws] && w.Name != "--checkpoint" && to == head {
				rep.Breaks = append(rep.Breaks, eventstore.Break{Position: p.Position, Kind: eventstore.BreakDeleted, From: p.Position, To: to,
					Type: domain.TypeAuditCheckpoint, StreamID: domain.CheckpointStream,
					Reason: what + " is not in the log: the checkpoint was deleted from it"})
			}
			checks = append(checks, signedCheck{p.Position, p.Hash, what})
		}
	}
	if err := compareSigned(checks, at, o.From, &rep); err != nil {
		return rep, err
	}
	if o.Policy.Every > 0 {
		if err := checkPolicy(o, cps, to, at, &rep); err != nil {
			return rep, err
		}
	}
	rep.Breaks = append(rep.Breaks, personal...)
	refs := make([]string, 0, len(badPersonal))
	for ref := range badPersonal {
		refs = append(refs, ref)
	}
	sort.Strings(refs)
	for _, ref := range refs {
		rep.Breaks = append(rep.Breaks, eventstore.Break{Kind: eventstore.BreakPersonal, Table: "personal_data", Row: ref,
			Reason: fmt.Sprintf("the personal data (%s) with reference pd:%s no longer matches its salted reference: the value was edited", badPersonal[ref], ref)})
	}
	if model != nil {
		b, n, err := model.diff(ctx, o.Model)
		if err != nil {
			return rep, storeError(err)
		}
		rep.ModelRows = n
		rep.Breaks = append(rep.Breaks, b...)
	}
	return rep, nil
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
				b.Reason = fmt.Sprintf("the log differs from what %s signed for position %d (log hash %s, signed %s): an event between positions %d and %d was changed after it was signed",
					strings.Join(claims, " and "), pos, shortHex(hex.EncodeToString(h)), shortHex(checks[i].hash), good+1, pos)
			}
			rep.Breaks = append(rep.Breaks, b)
		}
		i = j
	}
	return nil
}

// checkPolicy reports stretches where the checkpointer, had it run,
// would have signed a checkpoint but none is in the log: once Every events
// followed a checkpoint event (or Interval passed with events), the next
// checkpoint must be recorded within Grace. It measures with the log's own
// times, so a slow or stopped server adds no false alarm — only a crash in
// the seconds between a due checkpoint and its signing would.
func checkPolicy(o VerifyOptions, cps []logged, to int64, at func(int64) (*eventstore.Recorded, []byte, error), rep *AuditReport) error {
	grace := o.Policy.Grace
	if grace <= 0 {
		grace = time.Minute
	}
	headRec, _, err := at(to)
	if err != nil || headRec == nil {
		return err
	}
	// late explains why no checkpoint between position prevEvent (the last
	// checkpoint event, made at prevAt) and limit, by until, breaks the policy.
	late := func(prevEvent int64, prevAt time.Time, limit int64, until time.Time) (string, error) {
		if y := prevEvent + o.Policy.Every; y <= limit {
			r, _, err := at(y)
			if err != nil {
				return "", err
			}
			if r != nil && until.Sub(r.RecordedAt) > grace {
				return fmt.Sprintf("%d events followed position %d by %s (the policy is a checkpoint every %d), but no checkpoint was recorded within %s of that",
					o.Policy.Every, prevEvent, r.RecordedAt.Format(time.RFC3339), o.Policy.Every, grace), nil
			}
		}
		if o.Policy.Interval > 0 && !prevAt.IsZero() && prevEvent+1 <= limit {
			r, _, err := at(prevEvent + 1)
			if err != nil {
				return "", err
			}
			if r == nil {
				return "", nil
			}
			due := prevAt.Add(o.Policy.Interval)
			if r.RecordedAt.After(due) {
				due = r.RecordedAt
			}
			if until.Sub(due) > grace {
				return fmt.Sprintf("events followed the checkpoint at position %d, and a checkpoint was due by %s (the policy is one at least every %s), but none was recorded within %s of that",
					prevEvent, due.Format(time.RFC3339), o.Policy.Interval, grace), nil
			}
		}
		return "", nil
	}
	var (
		prevEvent, prevSigned int64
		prevAt                time.Time
		known                 = o.From <= 1 // before the first checkpoint seen, from position 1
	)
	add := func(reason string, from, to int64) {
		rep.Breaks = append(rep.Breaks, eventstore.Break{Position: to, Kind: eventstore.BreakPolicy, From: from, To: to,
			Reason: reason + ": checkpoints were deleted, or the checkpointer did not run"})
	}
	for _, c := range cps {
		if c.cp.Position > to {
			break
		}
		if known {
			reason, err := late(prevEvent, prevAt, c.pos-1, c.at)
			if err != nil {
				return err
			}
			if reason != "" {
				add(reason, prevSigned+1, c.cp.Position)
			}
		}
		prevEvent, prevSigned, prevAt, known = c.pos, c.cp.Position, c.at, true
	}
	if known && to > prevEvent {
		reason, err := late(prevEvent, prevAt, to, headRec.RecordedAt)
		if err != nil {
			return err
		}
		if reason != "" {
			add(reason, prevSigned+1, to)
		}
	}
	return nil
}

func shortHex(s string) string {
	if len(s) > 16 {
		return s[:16] + "…"
	}
	return s
}
