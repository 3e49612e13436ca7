package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/sessiond/sessiond/domain"
	"github.com/sessiond/sessiond/eventstore"
	"github.com/sessiond/sessiond/internal/natstest"
	"github.com/sessiond/sessiond/internal/pgtest"
	"github.com/sessiond/sessiond/internal/server"
	"github.com/sessiond/sessiond/witness"
)

// TestAuditVerifyJSON: --format json carries the verdict and every break
// with its kind, range and event.
func TestAuditVerifyJSON(t *testing.T) {
	s := startEmbedded(t, t.TempDir(), "SESSIOND_CHECKPOINT_EVERY", "5")
	seedAudit(t, s)
	s.Main.Close()
	decode := func(out string) map[string]any {
		var v map[string]any
		if err := json.Unmarshal([]byte(out), &v); err != nil {
			t.Fatalf("not JSON: %v\n%s", err, out)
		}
		return v
	}
	out, ok := verifyAs(t, s, s.Data, "--format", "json")
	if v := decode(out); !ok || v["verdict"] != "ok" || len(v["breaks"].([]any)) != 0 || v["signatures"].(map[string]any)["checked"] != true {
		t.Fatalf("intact: ok=%v %s", ok, out)
	}
	f := newForger(t, s)
	f.exec("", `UPDATE events SET data = json_set(data, '$.reason', 'nothing to see') WHERE position = 4`)
	f.exec("", `UPDATE events SET data = json_set(data, '$.reason', 'nothing to see') WHERE type = 'SessionRevoked' AND position > 10`)
	out, ok = verifyAs(t, s, s.Data, "--format", "json", "--log-only")
	v := decode(out)
	breaks := v["breaks"].([]any)
	if ok || v["verdict"] != "broken" || len(breaks) < 2 {
		t.Fatalf("two edits: ok=%v %s", ok, out)
	}
	first := breaks[0].(map[string]any)
	if first["kind"] != eventstore.BreakModified || first["position"] != 4.0 || first["from"] != 4.0 || first["to"] != 4.0 ||
		first["type"] != domain.TypeSessionRevoked || !strings.HasPrefix(first["streamId"].(string), "session-") || first["eventId"] == "" {
		t.Errorf("first break = %v", first)
	}
	if second := breaks[1].(map[string]any); second["position"].(float64) <= 10 {
		t.Errorf("the second edit is not reported: %v", breaks)
	}
	// A checkpoint made unreadable is a break, not a silent omission.
	f.exec("", `UPDATE events SET data = '{"position":"x"}' WHERE type = 'AuditCheckpoint'`)
	if out, ok := verifyAs(t, s, s.Data, "--log-only"); ok || !strings.Contains(out, "cannot be read as a AuditCheckpoint") {
		t.Errorf("unreadable checkpoints: ok=%v\n%s", ok, out)
	}
}

// TestAuditVerifyHelp: audit verify --help lists its own flags and the
// store settings it uses, not the server's.
func TestAuditVerifyHelp(t *testing.T) {
	var out, errOut bytes.Buffer
	m := server.NewMain()
	m.Stdout, m.Stderr, m.Getenv = &out, &errOut, env(nil)
	m.Logger = slog.New(slog.NewJSONHandler(io.Discard, nil))
	if err := m.Run(context.Background(), []string{"audit", "verify", "--help"}); err != nil {
		var exit *server.ExitError
		if !errors.As(err, &exit) || exit.Code != 0 {
			t.Fatal(err)
		}
	}
	help := out.String() // help goes to stdout
	for _, want := range []string{"-witness", "-witness-dir", "-audit-keys", "-allow-unsigned", "-log-only", "-format", "-database-url", "-data-dir", "-checkpoint-every"} {
		if !strings.Contains(help, want+" ") && !strings.Contains(help, want+"\n") {
			t.Errorf("help lacks %s", want)
		}
	}
	for _, unwanted := range []string{"-http-addr", "-nats-listen", "-key-rate", "-broadcast-wait", "-signing-keys"} {
		if strings.Contains(help, unwanted) {
			t.Errorf("help lists the server's %s", unwanted)
		}
	}
}

// TestAuditPolicy: with every checkpoint stripped from a log whose events
// span longer than the grace, the policy alone names the stretch.
func TestAuditPolicy(t *testing.T) {
	s := startEmbedded(t, t.TempDir(), "SESSIOND_CHECKPOINT_EVERY", "5")
	seedAudit(t, s)
	s.Main.Close()
	f := newForger(t, s)
	recs := withoutCheckpoints(f.events())
	for i := range recs {
		if i >= 8 {
			recs[i].RecordedAt = recs[i].RecordedAt.Add(2 * time.Minute) // a log that ran for minutes
		}
	}
	f.rewrite(recs, nil)
	out, ok := verifyAs(t, s, s.Data, "--log-only")
	if ok || !strings.Contains(out, "no checkpoint was recorded within 1m0s") || !strings.Contains(out, "the change lies in positions 1 to") {
		t.Errorf("ok=%v\n%s", ok, out)
	}
	if out, ok := verifyAs(t, s, s.Data, "--log-only", "--checkpoint-grace", "1h"); !ok {
		t.Errorf("with an hour's grace: %s", out)
	}
}

// TestAuditWitnessRetry: while the witness NATS is down, revocations are
// still answered and checkpoints still signed; when it returns, every
// checkpoint reaches the witness stream (the log is the outbox).
func TestAuditWitnessRetry(t *testing.T) {
	ns := natstest.Start(t)
	pool, url := pgtest.NewPool(t)
	s := startServerOn(t, pool, url, "NATS_URL", ns.URL(), "SESSIOND_CHECKPOINT_EVERY", "3")
	key := s.key("ops")
	ns.Stop()
	for round := 1; round <= 2; round++ {
		for i := range 3 {
			id := fmt.Sprintf("w-%d-%d", round, i)
			s.start(key, "fay", id)
			if r := s.do("DELETE", "/auth/admin/api/users/fay/sessions/"+id, key, ""); r.Status != 200 {
				t.Fatalf("revoke with the witness down = %d %s", r.Status, r.Body)
			}
		}
		checkFor(t, 10*time.Second, func() error {
			if n := len(auditPage(t, s, key, "type=AuditCheckpoint").Events); n < round {
				return fmt.Errorf("%d checkpoints", n)
			}
			return nil
		})
	}
	ns.Restart()
	// Count once: an audit read is an event too, so reading in the loop
	// would keep making checkpoints for the witness to chase.
	inLog := len(auditPage(t, s, key, "type=AuditCheckpoint").Events)
	checkFor(t, 20*time.Second, func() error {
		if inNATS := len(natsCheckpoints(t, ns.URL())); inNATS < inLog {
			return fmt.Errorf("%d of %d checkpoints witnessed", inNATS, inLog)
		}
		return nil
	})
	s.Main.Close()
	if out, ok := verifyAs(t, s, s.Data, "--witness", ns.URL()); !ok {
		t.Errorf("verify with the witness: %s", out)
	}
}

// TestAuditWitnessCatchesTruncation: cutting the newest events (and the
// checkpoints among them) off the log leaves a chain that verifies and no
// later checkpoint to notice; the witness still holds the cut checkpoint.
func TestAuditWitnessCatchesTruncation(t *testing.T) {
	dir := t.TempDir()
	s := startEmbedded(t, t.TempDir(), "SESSIOND_CHECKPOINT_EVERY", "5", "SESSIOND_WITNESS_DIR", dir)
	key := seedAudit(t, s)
	// Count once: an audit read is an event too, so reading in the loop
	// would keep making checkpoints for the witness to chase.
	n := len(auditPage(t, s, key, "type=AuditCheckpoint").Events)
	checkFor(t, 10*time.Second, func() error {
		if inDir, _ := witness.ReadDir(dir); len(inDir) < n {
			return fmt.Errorf("%d of %d checkpoints witnessed", len(inDir), n)
		}
		return nil
	})
	s.Main.Close()
	f := newForger(t, s)
	recs := f.events()
	// Audit reads are events too, so checkpoints may have been made after
	// the wait: cut at the newest checkpoint the witness holds (the dir
	// holds them in log order).
	inDir, err := witness.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	last, seen := 0, 0
	for i, r := range recs {
		if r.Type == domain.TypeAuditCheckpoint && seen < len(inDir) {
			last, seen = i, seen+1
		}
	}
	f.rewrite(recs[:last-1], nil) // the newest witnessed checkpoint, the event before it and all after are gone
	if out, ok := verifyAs(t, s, s.Data, "--log-only"); !ok {
		t.Fatalf("without the witness the cut goes unseen (expected): %s", out)
	}
	// The first verify recorded its run (an AuditRead) at the cut end, so
	// the log has grown again where the witnessed checkpoint stood: the
	// witness names that position either as cut off or as changed.
	out, ok := verifyAs(t, s, s.Data, "--log-only", "--witness-dir", dir)
	if ok || !(strings.Contains(out, "events were deleted from its end") || strings.Contains(out, "is not in the log")) {
		t.Errorf("ok=%v\n%s", ok, out)
	}
}
