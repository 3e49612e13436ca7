package server_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sessiond/sessiond/internal/auditkey"
)

// checkpointKeys returns the key ids of the checkpoints in the log.
func checkpointKeys(t *testing.T, s *testServer, key string) []string {
	t.Helper()
	var out []string
	for _, e := range auditPage(t, s, key, "type=AuditCheckpoint").Events {
		var cp struct{ KeyID string }
		json.Unmarshal(e.Data, &cp)
		out = append(out, cp.KeyID)
	}
	return out
}

// moreEvents starts n sessions and waits until the log holds want
// checkpoints.
func moreEvents(t *testing.T, s *testServer, key, prefix string, n, want int) {
	t.Helper()
	for i := range n {
		s.start(key, "erin", fmt.Sprintf("%s-%d", prefix, i))
	}
	checkFor(t, 10*time.Second, func() error {
		if got := len(checkpointKeys(t, s, key)); got < want {
			return fmt.Errorf("%d checkpoints, want %d", got, want)
		}
		return nil
	})
}

// TestAuditTokenKeyRotation follows the README's session-token key
// rotation step by step (publish, sign, retire); checkpoints are signed
// with the audit key, so audit verify stays at exit 0 throughout.
func TestAuditTokenKeyRotation(t *testing.T) {
	dir := t.TempDir()
	oldPath, _ := keyFile(t, "old.pem")
	newPath, _ := keyFile(t, "new.pem")
	start := func(keys string) *testServer {
		return startEmbedded(t, dir, "SESSIOND_SIGNING_KEYS", keys, "SESSIOND_CHECKPOINT_EVERY", "3")
	}
	s := start(oldPath)
	key := s.key("ops")
	moreEvents(t, s, key, "a", 4, 1)
	for i, keys := range []string{oldPath + "," + newPath, newPath + "," + oldPath, newPath} {
		s.Main.Close()
		s = start(keys)
		moreEvents(t, s, key, fmt.Sprint("r", i), 4, i+2)
		out, err := s.cli("audit", "verify", "--signing-keys", keys)
		if err != nil || !strings.HasPrefix(out, "OK") {
			t.Errorf("after step %d (--signing-keys %s): %v\n%s", i+1, keys, err, out)
		}
	}
	kids := checkpointKeys(t, s, key)
	for _, k := range kids[1:] {
		if k != kids[0] {
			t.Errorf("checkpoints signed by %v; want the one audit key throughout", kids)
		}
	}
}

// TestAuditKeyRotation: a new audit key is introduced by the current one;
// an auditor who pinned only the old key set, or only the new one,
// verifies every checkpoint, old and new.
func TestAuditKeyRotation(t *testing.T) {
	dir := t.TempDir()
	s := startEmbedded(t, dir, "SESSIOND_CHECKPOINT_EVERY", "3")
	key := s.key("ops")
	moreEvents(t, s, key, "a", 4, 1)
	oldKeys := keptAuditKeys(t, s)
	s.Main.Close()

	next := filepath.Join(t.TempDir(), "next-audit-key.pem")
	out, err := s.cli("audit", "rotate-key", "--new-key-file", next)
	if err != nil || !strings.HasPrefix(out, "introduced audit key") {
		t.Fatalf("rotate-key: %v %s", err, out)
	}
	nk, err := auditkey.LoadFile(next)
	if err != nil {
		t.Fatal(err)
	}
	s = startEmbedded(t, dir, "SESSIOND_CHECKPOINT_EVERY", "3", "SESSIOND_AUDIT_KEY_FILE", next)
	moreEvents(t, s, key, "b", 4, 2)
	newKeys := filepath.Join(t.TempDir(), "new-only.json")
	os.WriteFile(newKeys, auditkey.Keys{nk.KeyID(): nk.Public()}.JWKS(), 0o600)
	if kids := checkpointKeys(t, s, key); kids[len(kids)-1] != nk.KeyID() || kids[0] == nk.KeyID() {
		t.Fatalf("checkpoint keys %v; want the old key, then %s", kids, nk.KeyID())
	}
	s.Main.Close()
	for name, pinned := range map[string]string{"old": oldKeys, "new": newKeys} {
		out, ok := verifyAs(t, s, "", "--audit-keys", pinned)
		if !ok || !strings.Contains(out, "signatures checked") {
			t.Errorf("pinned the %s key set only: ok=%v\n%s", name, ok, out)
		}
	}
	// A key nobody introduced may not sign: its checkpoints never appear.
	rogue := filepath.Join(t.TempDir(), "rogue.pem")
	if _, err := auditkey.EnsureFile(rogue); err != nil {
		t.Fatal(err)
	}
	s = startEmbedded(t, dir, "SESSIOND_CHECKPOINT_EVERY", "3", "SESSIOND_AUDIT_KEY_FILE", rogue)
	for i := range 4 {
		s.start(key, "erin", fmt.Sprintf("c-%d", i))
	}
	checkFor(t, 10*time.Second, func() error {
		if !strings.Contains(s.Logs.String(), "is not in the log's key history") {
			return fmt.Errorf("no error logged yet")
		}
		return nil
	})
	if kids := checkpointKeys(t, s, key); kids[len(kids)-1] != nk.KeyID() {
		t.Errorf("an unintroduced key signed: %v", kids)
	}
}
