package verifier_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sessiond/sessiond/internal/natstest"
	"github.com/sessiond/sessiond/internal/tokens"
	"github.com/sessiond/sessiond/verifier"
)

// TestRevokedTokenWithinLeeway: a token is accepted until exp plus the
// leeway, so a revoked session's token must be rejected as revoked in that
// window too, whether the verifier loaded the revocation at start or
// followed it live.
func TestRevokedTokenWithinLeeway(t *testing.T) {
	key, err := tokens.WriteKeyFile(filepath.Join(t.TempDir(), "k.pem"))
	if err != nil {
		t.Fatal(err)
	}
	iss, err := tokens.NewIssuer("https://sessiond.test", "sessiond", []tokens.Key{key})
	if err != nil {
		t.Fatal(err)
	}
	jwks := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.Write(iss.JWKS()) }))
	t.Cleanup(jwks.Close)

	// Sessions that expired two seconds ago: within the 30 s default leeway.
	now := time.Now()
	expired := now.Add(-2 * time.Second).Truncate(time.Second)
	token := func(sid string) string {
		tok, err := iss.Mint("alice", sid, expired, expired.Add(-time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	ns := natstest.Start(t)
	f := newFeed(t, ns)
	const uuid, upper = "0193b6f2-7c1e-7a3b-9d4e-5f6a7b8c9d0e", "0193B6F2-7C1E-7A3B-9D4E-5F6A7B8C9D0F"
	f.revoke("loaded", expired)
	f.revoke(uuid, expired)
	f.heartbeat(now)
	var seen atomic.Int32
	v := newVerifier(t, ns, verifier.WithJWKS(jwks.URL), verifier.WithIssuer("https://sessiond.test"),
		verifier.WithObserver(func(verifier.Revocation) { seen.Add(1) }))
	f.revoke("followed", expired)
	f.revoke(upper, expired) // kept among the other ids, not as a UUID
	eventually(t, "the revocations applied", func() bool { return seen.Load() == 4 })

	h := v.Middleware(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte("ok")) }))
	for sid, want := range map[string]string{
		"loaded": "SESSION_REVOKED", "followed": "SESSION_REVOKED", "never-revoked": "ok",
		uuid: "SESSION_REVOKED", upper: "SESSION_REVOKED", uuid[:35] + "f": "ok",
	} {
		req := httptest.NewRequest("GET", "/", nil)
		req.Header.Set("Authorization", "Bearer "+token(sid))
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if body := rec.Body.String(); !strings.Contains(body, want) {
			t.Errorf("token of %s, expired 2 s ago: %d %s; want %s", sid, rec.Code, body, want)
		}
		if want != "ok" && !errors.Is(v.Check(sid), verifier.ErrRevoked) {
			t.Errorf("Check(%s) = %v, want ErrRevoked", sid, v.Check(sid))
		}
	}
}
