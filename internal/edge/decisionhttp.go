package edge

import (
	"net/http"
)

// Header values assigned as shared slices: net/http only reads them.
var (
	noStore    = []string{"no-store"}
	closeConn  = []string{"close"}
	zeroLength = []string{"0"}
)

// DecisionHandler answers every request, whatever its method and path,
// with a decision: 200 with X-Session-Id, X-User-Id and X-Token-Expires-At;
// 401 or 503 with the contract's error JSON (also in X-Edge-Error, for
// nginx's auth_request, which drops the body). It never reads the request
// body: a request that declares one is answered with Connection: close, so
// the server does not drain it to reuse the connection.
func (d *Decider) DecisionHandler() http.Handler { return decisionHandler{d} }

type decisionHandler struct{ d *Decider }

func (h decisionHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	d := h.d
	hdr := w.Header()
	hdr["Cache-Control"] = noStore
	if r.ContentLength != 0 && r.ProtoMajor == 1 {
		hdr["Connection"] = closeConn
	}
	var cookies func() []*http.Cookie
	if d.cookie != "" {
		cookies = r.Cookies
	}
	dec := d.Decide(r.Context(), d.Token(r.Header.Get("Authorization"), cookies))
	d.metrics.count(transportHTTP, dec)
	if dec.Allowed() {
		hdr[HeaderSessionID] = []string{dec.Claims.SessionID}
		hdr[HeaderUserID] = []string{dec.Claims.Subject}
		hdr[HeaderTokenExpiresAt] = []string{dec.ExpiresAt()}
		hdr["Content-Length"] = zeroLength
		w.WriteHeader(http.StatusOK)
		return
	}
	writeDenial(hdr, w, dec.Deny)
}

// writeDenial writes a denial's status, headers and body.
func writeDenial(hdr http.Header, w http.ResponseWriter, deny *Denial) {
	hdr["Content-Type"] = deny.jsonType
	hdr[HeaderEdgeError] = deny.edgeError
	if deny.www != nil {
		hdr["Www-Authenticate"] = deny.www
	}
	w.WriteHeader(deny.Status)
	_, _ = w.Write(deny.Body)
}
