package api_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/sessiond/sessiond/api"
)

// FuzzRequests: whatever the path ids and body, parsing never yields a
// 5xx: bad input is a 4xx with the error DTO.
func FuzzRequests(f *testing.F) {
	for _, seed := range []struct{ method, user, session, body string }{
		{"DELETE", "alice", "s-1", `{"reason":"x"}`},
		{"DELETE", "a%2Fb", "s", `{"reason":`},
		{"POST", "provider|123", "", `{"sessionId":"s","ttlSeconds":-1}`},
		{"POST", "u", "", `{"metadata":{"a":"\u0000"},"expiresAt":"2100-01-01T00:00:00Z"}`},
		{"GET", "u", "", ``},
		{"DELETE", "%zz", "%", `null`},
		{"POST", "u", "", `{"sessionId":"` + strings.Repeat("a", 200) + `"}`},
	} {
		f.Add(seed.method, seed.user, seed.session, seed.body)
	}
	s := api.New(api.Options{Service: &fakeService{}, Logger: quietLogger()})
	f.Fuzz(func(t *testing.T, method, user, session, body string) {
		switch method {
		case "DELETE", "POST", "GET":
		default:
			method = "DELETE"
		}
		path := "/auth/admin/api/users/" + user + "/sessions"
		if session != "" {
			path += "/" + session
		}
		req, err := http.NewRequest(method, "http://x"+path, strings.NewReader(body))
		if err != nil {
			return // not a URL a client could send
		}
		req.Header.Set("Authorization", "Bearer "+fakeKey)
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, req)
		if rec.Code >= 500 {
			t.Fatalf("%s %s %q -> %d %s", method, path, body, rec.Code, rec.Body)
		}
		if rec.Code >= 400 && !strings.Contains(rec.Body.String(), `"code":`) {
			t.Fatalf("%d without the error DTO: %s", rec.Code, rec.Body)
		}
	})
}
