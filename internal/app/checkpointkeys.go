package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/sessiond/sessiond/domain"
	"github.com/sessiond/sessiond/eventstore"
	"github.com/sessiond/sessiond/internal/auditkey"
)

// KeyIntroductionType is the typ of what an AuditKeyIntroduced's
// signatures sign.
const KeyIntroductionType = "sessiond-audit-key"

// keyIntroduction is what both signatures of an AuditKeyIntroduced sign.
type keyIntroduction struct {
	Type          string    `json:"typ"`
	KeyID         string    `json:"keyId"`
	PreviousKeyID string    `json:"previousKeyId,omitempty"`
	IntroducedAt  time.Time `json:"introducedAt"`
}

// ErrAuditKeyUnknown means the configured audit key is not in the log's
// key history, so it may not sign checkpoints.
var ErrAuditKeyUnknown = errors.New("the audit key is not in the log's key history")

// AuditKeys reads the audit key history, oldest first.
func AuditKeys(ctx context.Context, log Log) ([]domain.AuditKeyIntroduced, error) {
	recs, err := log.ReadStream(ctx, domain.AuditKeyStream)
	if err != nil {
		return nil, storeError(err)
	}
	out := make([]domain.AuditKeyIntroduced, 0, len(recs))
	for _, r := range recs {
		e, err := domain.DecodeEvent(r.Type, r.Data)
		if err != nil {
			return nil, err
		}
		out = append(out, e.(domain.AuditKeyIntroduced))
	}
	return out, nil
}

// EnsureAuditKey makes sure s may sign checkpoints: it does nothing when
// the log's key history has s's key; when the history is empty it
// introduces s's key (trust on first use); otherwise it fails with
// ErrAuditKeyUnknown — a new key must be introduced by the previous one
// (IntroduceAuditKey).
func EnsureAuditKey(ctx context.Context, log Log, s auditkey.Signer, now time.Time) error {
	for range 3 {
		keys, err := AuditKeys(ctx, log)
		if err != nil {
			return err
		}
		for _, k := range keys {
			if k.KeyID == s.KeyID() {
				return nil
			}
		}
		if len(keys) > 0 {
			return fmt.Errorf("%w: key %s is configured (--audit-key-file) but the newest audit key in the log is %s; introduce it with \"sessiond audit rotate-key\"",
				ErrAuditKeyUnknown, s.KeyID(), keys[len(keys)-1].KeyID)
		}
		err = appendKey(ctx, log, s, nil, 0, now)
		if !errors.Is(err, eventstore.ErrConflict) {
			return err
		}
	}
	return fmt.Errorf("introduce audit key %s: the key history keeps changing", s.KeyID())
}

// IntroduceAuditKey records next as the audit key that follows prev,
// signed by both. prev must be in the key history (it is introduced first
// when the history is empty). Introducing a key twice does nothing.
func IntroduceAuditKey(ctx context.Context, log Log, next, prev auditkey.Signer, now time.Time) (domain.AuditKeyIntroduced, error) {
	if err := EnsureAuditKey(ctx, log, prev, now); err != nil {
		return domain.AuditKeyIntroduced{}, err
	}
	keys, err := AuditKeys(ctx, log)
	if err != nil {
		return domain.AuditKeyIntroduced{}, err
	}
	for _, k := range keys {
		if k.KeyID == next.KeyID() {
			return k, nil
		}
	}
	if err := appendKey(ctx, log, next, prev, int64(len(keys)), now); err != nil {
		return domain.AuditKeyIntroduced{}, err
	}
	keys, err = AuditKeys(ctx, log)
	if err != nil {
		return domain.AuditKeyIntroduced{}, err
	}
	return keys[len(keys)-1], nil
}

func appendKey(ctx context.Context, log Log, next, prev auditkey.Signer, version int64, now time.Time) error {
	intro := keyIntroduction{Type: KeyIntroductionType, KeyID: next.KeyID(), IntroducedAt: now.UTC()}
	if prev != nil {
		intro.PreviousKeyID = prev.KeyID()
	}
	payload, _ := json.Marshal(intro)
	ev := domain.AuditKeyIntroduced{KeyID: next.KeyID(), PublicKey: auditkey.JWK(next.Public()), PreviousKeyID: intro.PreviousKeyID, IntroducedAt: intro.IntroducedAt}
	var err error
	if ev.Possession, err = auditkey.SignJWS(ctx, next, payload); err != nil {
		return err
	}
	if prev != nil {
		if ev.Endorsement, err = auditkey.SignJWS(ctx, prev, payload); err != nil {
			return err
		}
	}
	typ, data, err := domain.EncodeEvent(ev)
	if err != nil {
		return err
	}
	meta, _ := json.Marshal(Meta{RequestID: "audit-key", UserAgent: "sessiond-checkpointer"})
	_, err = log.Append(ctx, eventstore.StreamAppend{StreamID: domain.AuditKeyStream, ExpectedVersion: version,
		Events: []eventstore.Proposed{{Type: typ, Data: data, Metadata: meta}}})
	return storeError(err)
}

// keyCheck is one introduction as verification sees it.
type keyCheck struct {
	pos int64
	ev  domain.AuditKeyIntroduced
	pub auditkey.Keys // the key itself, if its JWK is sound
}

// trustKeys extends anchors along the key history: a key endorsed by a
// trusted key is trusted, and a trusted key vouches (by its possession
// signature) for the previous key it names. It returns the trusted keys
// and a break for every introduction whose signatures do not check out.
func trustKeys(history []keyCheck, anchors auditkey.Keys) (auditkey.Keys, []eventstore.Break) {
	trusted := auditkey.Keys{}
	for kid, pub := range anchors {
		trusted[kid] = pub
	}
	var breaks []eventstore.Break
	bad := map[int]bool{}
	for i, h := range history {
		b := eventstore.Break{Position: h.pos, Kind: eventstore.BreakKey, From: h.pos, To: h.pos, Type: domain.TypeAuditKeyIntroduced, StreamID: domain.AuditKeyStream}
		pub, err := auditkey.ParseJWK(h.ev.PublicKey)
		if err == nil && auditkey.Thumbprint(pub) != h.ev.KeyID {
			err = errors.New("its public key does not have the key id it claims")
		}
		if err == nil {
			if _, err = checkIntro(h.ev.Possession, auditkey.Keys{h.ev.KeyID: pub}, h.ev); err != nil {
				err = fmt.Errorf("its own signature does not check out: %w", err)
			}
		}
		if err == nil && i > 0 && h.ev.PreviousKeyID == "" {
			err = errors.New("it names no previous key, although keys were introduced before it: only the first key may be trusted on first use")
		}
		if err != nil {
			b.Reason = fmt.Sprintf("audit key %s introduced at position %d: %v", h.ev.KeyID, h.pos, err)
			breaks = append(breaks, b)
			bad[i] = true
			continue
		}
		history[i].pub = auditkey.Keys{h.ev.KeyID: pub}
	}
	for changed := true; changed; {
		changed = false
		for i, h := range history {
			if bad[i] {
				continue
			}
			kid := h.ev.KeyID
			if _, ok := trusted[kid]; !ok && h.ev.PreviousKeyID != "" {
				if _, ok := trusted[h.ev.PreviousKeyID]; ok {
					if _, err := checkIntro(h.ev.Endorsement, trusted, h.ev); err == nil {
						trusted[kid] = h.pub[kid]
						changed = true
					}
				}
			}
			if _, ok := trusted[kid]; ok && h.ev.PreviousKeyID != "" {
				if _, ok := trusted[h.ev.PreviousKeyID]; !ok {
					for j := range history[:i] {
						if !bad[j] && history[j].ev.KeyID == h.ev.PreviousKeyID {
							trusted[h.ev.PreviousKeyID] = history[j].pub[h.ev.PreviousKeyID]
							changed = true
						}
					}
				}
			}
		}
	}
	for i, h := range history {
		if bad[i] || h.ev.PreviousKeyID == "" {
			continue
		}
		if _, ok := trusted[h.ev.PreviousKeyID]; !ok {
			continue // nothing to check the endorsement with
		}
		if _, err := checkIntro(h.ev.Endorsement, trusted, h.ev); err != nil {
			breaks = append(breaks, eventstore.Break{Position: h.pos, Kind: eventstore.BreakKey, From: h.pos, To: h.pos,
				Type: domain.TypeAuditKeyIntroduced, StreamID: domain.AuditKeyStream,
				Reason: fmt.Sprintf("audit key %s introduced at position %d is not endorsed by the previous key %s: %v", h.ev.KeyID, h.pos, h.ev.PreviousKeyID, err)})
		}
	}
	return trusted, breaks
}

// checkIntro verifies one signature of an introduction and that it signs
// this introduction.
func checkIntro(jws string, keys auditkey.Keys, ev domain.AuditKeyIntroduced) (string, error) {
	payload, kid, err := auditkey.Verify(jws, keys)
	if err != nil {
		return kid, err
	}
	var p keyIntroduction
	if json.Unmarshal(payload, &p) != nil || p.Type != KeyIntroductionType || p.KeyID != ev.KeyID || p.PreviousKeyID != ev.PreviousKeyID {
		return kid, errors.New("the signature signs a different introduction")
	}
	return kid, nil
}
