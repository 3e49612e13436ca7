package console_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestConsoleIntegrity: the integrity page shows the head and the newest
// signed checkpoint; "verify now" reports an intact log as intact, and a
// deliberately tampered database as broken, naming the position.
func TestConsoleIntegrity(t *testing.T) {
	srv := startServer(t, "SESSIOND_CHECKPOINT_EVERY", "5", "SESSIOND_WITNESS_DIR", t.TempDir())
	key := srv.key("ops")
	for i := range 6 {
		srv.start(key, "dave", fmt.Sprintf("t-%d", i))
	}
	waitFor(t, func() error {
		if n := srv.count(`type = 'AuditCheckpoint'`); n < 1 {
			return fmt.Errorf("%d checkpoints so far", n)
		}
		return nil
	})
	tb := newTab(t, srv)
	tb.signIn(key)
	tb.open("/console/integrity")
	st, body := srv.api("GET", "/audit/chain", key, "")
	var chain struct {
		Position int64
		Hash     string
	}
	if err := json.Unmarshal(body, &chain); st != http.StatusOK || err != nil {
		t.Fatalf("API chain = %d %s", st, body)
	}
	if got := tb.text("#head-position"); got != fmt.Sprint(chain.Position) {
		t.Fatalf("head position on the page = %s, API says %d", got, chain.Position)
	}
	if got := tb.text("#head-hash"); got != chain.Hash {
		t.Fatalf("head hash on the page = %s, API says %s", got, chain.Hash)
	}
	if got := tb.text("#checkpoint"); !strings.Contains(got, "Signs position") {
		t.Fatalf("checkpoint section = %q", got)
	}
	// The checkpoints are witnessed in the JetStream stream and the witness
	// dir, out of the log's outbox: reload until the newest is there too.
	waitFor(t, func() error {
		tb.open("/console/integrity")
		got := tb.text("#witnesses")
		for _, want := range []string{"NATS stream AUDIT_CHECKPOINTS: holds", "witness dir", "the newest is among them"} {
			if !strings.Contains(got, want) {
				return fmt.Errorf("witnesses section %q lacks %q", got, want)
			}
		}
		if strings.Count(got, "the newest is among them") != 2 {
			return fmt.Errorf("witnesses section %q: want both witnesses holding the newest", got)
		}
		return nil
	})
	tb.shot("integrity")

	if got := tb.verifyNow("intact"); !strings.Contains(got, "INTACT") {
		t.Fatalf("verify of an untouched log says %q", got)
	}
	tb.shot("verify-intact")

	superuser(t, srv, `UPDATE events SET data = jsonb_set(data, '{userId}', '"eve"') WHERE position = 3`)
	got := tb.verifyNow("broken")
	if !strings.Contains(got, "BROKEN at position 3") {
		t.Fatalf("verify of a tampered log says %q; want it broken at position 3", got)
	}
	tb.shot("verify-broken")
	if v := tb.cspViolations(); len(v) > 0 {
		t.Fatalf("CSP violations: %q", v)
	}
}

// verifyNow presses "verify now" and waits for the outcome want (or any
// finished outcome), returning the result in words.
func (tb *tab) verifyNow(want string) string {
	tb.t.Helper()
	tb.open("/console/integrity")
	tb.follow("#verify-now")
	var outcome string
	waitFor(tb.t, func() error {
		var err error
		outcome, err = chromedp.Run(tb.ctx, chromedp.Text(chromedp.ID("verify-outcome")))
		if err != nil {
			return err
		}
		if outcome == "running" {
			return fmt.Errorf("still running")
		}
		return nil
	})
	words := tb.text("#verify-words")
	if outcome != want {
		tb.t.Fatalf("verification outcome %q (%s), want %q", outcome, words, want)
	}
	return words
}

// superuser runs a statement with the append-only triggers off, as a
// database superuser could.
func superuser(t *testing.T, srv *testServer, sql string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	tx, err := srv.Pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	for _, s := range []string{`SET LOCAL session_replication_role = replica`, sql} {
		if _, err := tx.Exec(ctx, s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
}
