package verifier

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/sessiond/sessiond/internal/tokens"
)

// BenchmarkMiddleware measures the full check of a request: bearer JWT
// (EdDSA signature, exp, nbf, aud, iss) plus the revocation check, against
// a set of 100,000 revocations. "cached" repeats a token already verified
// (the common case: a client sends its token many times); "uncached" sees
// a new token every time, so every request pays the Ed25519 verification.
func BenchmarkMiddleware(b *testing.B) {
	key, err := tokens.WriteKeyFile(filepath.Join(b.TempDir(), "k.pem"))
	if err != nil {
		b.Fatal(err)
	}
	iss, _ := tokens.NewIssuer("http://localhost:8080", "sessiond", []tokens.Key{key})
	jwksSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.Write(iss.JWKS()) }))
	defer jwksSrv.Close()

	cfg := defaults()
	v := &Verifier{cfg: cfg, set: newSet(100_000, instantUnit), tokens: &tokenCheck{keys: newJWKS(jwksSrv.URL, nil),
		issuer: cfg.issuer, audience: cfg.audience, leeway: cfg.leeway, cache: map[[32]byte]Claims{}}}
	now := time.Now()
	v.now.Store(now.UnixNano())
	v.fresh.Store(now.UnixNano())
	for i := range 100_000 {
		v.set.add(fmt.Sprintf("revoked-%d", i), now.Add(time.Hour).UnixNano())
	}
	toks := make([]string, 20_000)
	for i := range toks {
		toks[i], _ = iss.Mint("alice", fmt.Sprintf("s-%d", i), now.Add(time.Hour), now)
	}
	ok := http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})
	h := v.Middleware(ok)
	run := func(b *testing.B, tok func(i int) string) {
		req := httptest.NewRequest("GET", "/", nil)
		w := &nullWriter{h: http.Header{}}
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			req.Header.Set("Authorization", "Bearer "+tok(i))
			w.code = 0
			h.ServeHTTP(w, req)
			if w.code != 0 {
				b.Fatalf("status %d", w.code)
			}
		}
	}
	b.Run("cached", func(b *testing.B) { run(b, func(int) string { return toks[0] }) })
	b.Run("uncached", func(b *testing.B) {
		run(b, func(i int) string {
			clear(v.tokens.cache)
			return toks[i%len(toks)]
		})
	})
}

// nullWriter records the status of a response and discards its body.
type nullWriter struct {
	h    http.Header
	code int
}

func (w *nullWriter) Header() http.Header         { return w.h }
func (w *nullWriter) Write(b []byte) (int, error) { return len(b), nil }
func (w *nullWriter) WriteHeader(code int)        { w.code = code }
