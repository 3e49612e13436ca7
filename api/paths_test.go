package api_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/sessiond/sessiond/api"
)

// startHTTP serves the API through a real listener (wrapped as sessiond
// wraps it) for a real http.Client.
func startHTTP(t *testing.T, opts api.Options) *httptest.Server {
	t.Helper()
	if opts.Service == nil {
		opts.Service = &fakeService{}
	}
	if opts.Logger == nil {
		opts.Logger = quietLogger()
	}
	ts := httptest.NewUnstartedServer(api.New(opts))
	ts.Listener = api.Listener(ts.Listener)
	ts.Start()
	t.Cleanup(ts.Close)
	return ts
}

// call sends a request whose target is sent verbatim (u.Opaque), so that
// malformed and unclean paths reach the server as written.
func call(t *testing.T, ts *httptest.Server, method, target, body string) (*http.Response, api.ErrorResponse) {
	t.Helper()
	u, _ := url.Parse(ts.URL)
	u.Opaque = target
	req := &http.Request{Method: method, URL: u, Header: http.Header{"Authorization": {"Bearer " + fakeKey}}, Host: u.Host}
	if body != "" {
		req.Body = io.NopCloser(strings.NewReader(body))
		req.ContentLength = int64(len(body))
	}
	resp, err := ts.Client().Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, target, err)
	}
	defer resp.Body.Close()
	var dto api.ErrorResponse
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode >= 300 {
		if err := json.Unmarshal(b, &dto); err != nil {
			t.Errorf("%s %s: %d body %q is not the JSON error", method, target, resp.StatusCode, b)
		}
	}
	return resp, dto
}

// TestUncleanPathsNeverRedirect: a path with "//" or "/./" is not
// redirected (a client would follow the 301 as a GET and report the
// still-active session as a success); it gets the JSON 404.
func TestUncleanPathsNeverRedirect(t *testing.T) {
	ts := startHTTP(t, api.Options{})
	for _, target := range []string{
		"/auth/admin/api/users/alice//sessions/s-1",
		"/auth/admin/api/users/alice/./sessions/s-1",
		"/auth/admin/api/users/x/../alice/sessions/s-1",
		"/auth/admin/api//users/alice/sessions/s-1",
	} {
		resp, dto := call(t, ts, "DELETE", target, `{"reason":"stolen"}`)
		if resp.StatusCode != http.StatusNotFound || dto.Code != "ROUTE_NOT_FOUND" {
			t.Errorf("DELETE %s = %d %+v (after redirects: %s %s), want 404 ROUTE_NOT_FOUND",
				target, resp.StatusCode, dto, resp.Request.Method, resp.Request.URL.Path)
		}
		if resp.Header.Get("X-Request-Id") == "" {
			t.Errorf("DELETE %s: no X-Request-Id", target)
		}
	}
}

// TestMalformedTargetIsJSON: net/http refuses "%zz" before any handler
// runs; the answer is still the contract's 400 with a request id.
func TestMalformedTargetIsJSON(t *testing.T) {
	ts := startHTTP(t, api.Options{})
	resp, dto := call(t, ts, "DELETE", "/auth/admin/api/users/al%zzice/sessions/s-1", "")
	if resp.StatusCode != http.StatusBadRequest || dto.Code != "VALIDATION_FAILED" || dto.StatusCode != 400 || dto.Error != "Bad Request" {
		t.Fatalf("%%zz = %d %+v, want 400 VALIDATION_FAILED", resp.StatusCode, dto)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q", ct)
	}
	if resp.Header.Get("X-Request-Id") == "" {
		t.Error("no X-Request-Id")
	}
	// A well-formed request on a fresh connection is unaffected.
	if resp, _ := call(t, ts, "GET", "/healthz", ""); resp.StatusCode != http.StatusOK {
		t.Errorf("healthz = %d", resp.StatusCode)
	}
}

// TestMethodNotAllowedAllow: a 405 names the allowed methods.
func TestMethodNotAllowedAllow(t *testing.T) {
	ts := startHTTP(t, api.Options{})
	for target, want := range map[string]string{
		"/auth/admin/api/users/alice/sessions/s-1": "DELETE, GET",
		"/auth/admin/api/users/alice/sessions":     "DELETE, GET, POST",
		"/healthz":                                 "GET",
	} {
		resp, dto := call(t, ts, "PUT", target, "")
		if resp.StatusCode != http.StatusMethodNotAllowed || dto.Code != "METHOD_NOT_ALLOWED" {
			t.Errorf("PUT %s = %d %+v", target, resp.StatusCode, dto)
		}
		if got := resp.Header.Get("Allow"); got != want {
			t.Errorf("PUT %s: Allow = %q, want %q", target, got, want)
		}
	}
}
