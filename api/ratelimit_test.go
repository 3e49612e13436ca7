package api_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/sessiond/sessiond/api"
)

func serveFrom(h http.Handler, addr, key string) *httptest.ResponseRecorder {
	req := httptest.NewRequest("GET", "/auth/admin/api/users/u1/sessions", nil)
	req.RemoteAddr = addr
	req.Header.Set("Authorization", "Bearer "+key)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

// TestRateLimits: a key past its burst, and an address that keeps
// presenting bad keys, get 429 RATE_LIMITED with Retry-After; others are
// unaffected.
func TestRateLimits(t *testing.T) {
	s := api.New(api.Options{Service: &fakeService{}, Logger: quietLogger(), KeyRate: 0.5, KeyBurst: 2, AuthFailRate: 0.5, AuthFailBurst: 3})
	for i, want := range []int{200, 200, 429} {
		rec := serveFrom(s, "192.0.2.1:1000", fakeKey)
		if rec.Code != want {
			t.Fatalf("request %d with a good key = %d %s, want %d", i+1, rec.Code, rec.Body, want)
		}
		if want == 429 && (!strings.Contains(rec.Body.String(), `"code":"RATE_LIMITED"`) || rec.Header().Get("Retry-After") == "") {
			t.Errorf("429 = %v %s; want RATE_LIMITED and Retry-After", rec.Header(), rec.Body)
		}
	}
	for i, want := range []int{401, 401, 401, 429} {
		if rec := serveFrom(s, "198.51.100.9:2000", "sessiond_ak_wrong"); rec.Code != want {
			t.Fatalf("bad key %d = %d, want %d", i+1, rec.Code, want)
		}
	}
	// That address is now refused even with a good key; another is not.
	if rec := serveFrom(s, "198.51.100.9:2001", fakeKey); rec.Code != 429 {
		t.Errorf("good key from the blocked address = %d", rec.Code)
	}
	if rec := serveFrom(s, "203.0.113.5:3000", "sessiond_ak_wrong"); rec.Code != 401 {
		t.Errorf("bad key from another address = %d, want 401", rec.Code)
	}
	off := api.New(api.Options{Service: &fakeService{}, Logger: quietLogger()})
	for range 50 {
		if rec := serveFrom(off, "192.0.2.1:1000", "sessiond_ak_wrong"); rec.Code != 401 {
			t.Fatalf("without limits = %d", rec.Code)
		}
	}
}
