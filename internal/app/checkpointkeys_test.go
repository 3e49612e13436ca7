package app_test

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sessiond/sessiond/domain"
	"github.com/sessiond/sessiond/eventstore"
	"github.com/sessiond/sessiond/eventstore/sqlitestore"
	"github.com/sessiond/sessiond/internal/app"
	"github.com/sessiond/sessiond/internal/auditkey"
	"github.com/sessiond/sessiond/migrations"
)

func openLog(t *testing.T) *sqlitestore.Store {
	t.Helper()
	path := filepath.Join(t.TempDir(), "log.db")
	db, err := sqlitestore.OpenDB(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := migrations.UpSQLite(context.Background(), db, path+".lock", nil); err != nil {
		t.Fatal(err)
	}
	s := sqlitestore.New(db, eventstore.Options{})
	t.Cleanup(func() { s.Close(); db.Close() })
	return s
}

func newKey(t *testing.T) auditkey.Signer {
	t.Helper()
	k, err := auditkey.EnsureFile(filepath.Join(t.TempDir(), "k.pem"))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// appendIntro records an introduction as an attacker with database access
// could: any key, any claimed predecessor, signatures of their choosing.
func appendIntro(t *testing.T, log *sqlitestore.Store, version int64, next, endorser auditkey.Signer, prevKid string) {
	t.Helper()
	ctx := context.Background()
	payload, _ := json.Marshal(map[string]any{"typ": app.KeyIntroductionType, "keyId": next.KeyID(), "previousKeyId": prevKid, "introducedAt": time.Unix(0, 0).UTC()})
	ev := domain.AuditKeyIntroduced{KeyID: next.KeyID(), PublicKey: auditkey.JWK(next.Public()), PreviousKeyID: prevKid, IntroducedAt: time.Unix(0, 0).UTC()}
	ev.Possession, _ = auditkey.SignJWS(ctx, next, payload)
	if endorser != nil {
		ev.Endorsement, _ = auditkey.SignJWS(ctx, endorser, payload)
	}
	typ, data, _ := domain.EncodeEvent(ev)
	if _, err := log.Append(ctx, eventstore.StreamAppend{StreamID: domain.AuditKeyStream, ExpectedVersion: version,
		Events: []eventstore.Proposed{{Type: typ, Data: data}}}); err != nil {
		t.Fatal(err)
	}
}

func keyBreaks(t *testing.T, log *sqlitestore.Store, anchors auditkey.Keys) []string {
	t.Helper()
	rep, err := app.VerifyAudit(context.Background(), log, app.VerifyOptions{Anchors: anchors})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, b := range rep.Breaks {
		if b.Kind == eventstore.BreakKey {
			out = append(out, b.Reason)
		}
	}
	return out
}

// TestAuditKeyHistory: introductions that do not check out are breaks.
func TestAuditKeyHistory(t *testing.T) {
	ctx := context.Background()
	now := time.Now()
	t.Run("rotation", func(t *testing.T) {
		log := openLog(t)
		k1, k2 := newKey(t), newKey(t)
		if _, err := app.IntroduceAuditKey(ctx, log, k2, k1, now); err != nil {
			t.Fatal(err)
		}
		if err := app.EnsureAuditKey(ctx, log, newKey(t), now); err == nil || !strings.Contains(err.Error(), "rotate-key") {
			t.Errorf("an unintroduced key: %v", err)
		}
		if b := keyBreaks(t, log, auditkey.Keys{k1.KeyID(): k1.Public()}); len(b) != 0 {
			t.Errorf("a proper rotation: %v", b)
		}
	})
	t.Run("second root", func(t *testing.T) {
		log := openLog(t)
		k1, rogue := newKey(t), newKey(t)
		if err := app.EnsureAuditKey(ctx, log, k1, now); err != nil {
			t.Fatal(err)
		}
		appendIntro(t, log, 1, rogue, nil, "")
		if b := keyBreaks(t, log, auditkey.Keys{k1.KeyID(): k1.Public()}); len(b) != 1 || !strings.Contains(b[0], "names no previous key") {
			t.Errorf("breaks = %v", b)
		}
	})
	t.Run("forged endorsement", func(t *testing.T) {
		log := openLog(t)
		k1, rogue := newKey(t), newKey(t)
		if err := app.EnsureAuditKey(ctx, log, k1, now); err != nil {
			t.Fatal(err)
		}
		appendIntro(t, log, 1, rogue, rogue, k1.KeyID()) // claims k1 endorsed it
		if b := keyBreaks(t, log, auditkey.Keys{k1.KeyID(): k1.Public()}); len(b) != 1 || !strings.Contains(b[0], "is not endorsed by the previous key") {
			t.Errorf("breaks = %v", b)
		}
	})
}
