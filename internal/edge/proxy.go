package edge

import (
	"context"
	"net/http"
	"net/http/httputil"
	"net/url"
)

// Headers edgeverify sets on forwarded requests (any incoming copies are
// removed first, so a client cannot forge them).
const (
	HeaderUserID    = "X-User-Id"
	HeaderSessionID = "X-Session-Id"
)

// identityHeaders are removed from every request a client sends upstream
// and set from the verified token.
var identityHeaders = []string{HeaderUserID, HeaderSessionID, HeaderTokenExpiresAt}

// ProxyHandler forwards requests whose decision allows them to upstream,
// with the verified identity headers replacing any the client sent, and
// answers the others with their denial.
func (d *Decider) ProxyHandler(upstream *url.URL) http.Handler {
	rp := &httputil.ReverseProxy{Rewrite: func(pr *httputil.ProxyRequest) {
		pr.SetURL(upstream)
		pr.SetXForwarded()
		for _, h := range identityHeaders {
			pr.Out.Header.Del(h)
		}
		if dec, ok := pr.In.Context().Value(decisionKey{}).(Decision); ok {
			pr.Out.Header.Set(HeaderUserID, dec.Claims.Subject)
			pr.Out.Header.Set(HeaderSessionID, dec.Claims.SessionID)
			pr.Out.Header.Set(HeaderTokenExpiresAt, dec.ExpiresAt())
		}
	}}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var cookies func() []*http.Cookie
		if d.cookie != "" {
			cookies = r.Cookies
		}
		dec := d.Decide(r.Context(), d.Token(r.Header.Get("Authorization"), cookies))
		d.metrics.count(transportHTTP, dec)
		if !dec.Allowed() {
			writeDenial(w.Header(), w, dec.Deny)
			return
		}
		rp.ServeHTTP(w, r.WithContext(withDecision(r.Context(), dec)))
	})
}

type decisionKey struct{}

func withDecision(ctx context.Context, d Decision) context.Context {
	return context.WithValue(ctx, decisionKey{}, d)
}
