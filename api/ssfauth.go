package api

import "net/http"

// bearerChallenge adds the RFC 6750 section 3 WWW-Authenticate header to
// 401 and 403 answers, as the CAEP interoperability profile requires of
// SSF endpoints.
func bearerChallenge(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		next.ServeHTTP(&challenger{ResponseWriter: w, presented: r.Header.Get("Authorization") != ""}, r)
	})
}

type challenger struct {
	http.ResponseWriter
	presented bool
}

func (c *challenger) WriteHeader(status int) {
	switch {
	case status == http.StatusUnauthorized && c.presented:
		c.Header().Set("WWW-Authenticate", `Bearer realm="sessiond", error="invalid_token"`)
	case status == http.StatusUnauthorized:
		c.Header().Set("WWW-Authenticate", `Bearer realm="sessiond"`)
	case status == http.StatusForbidden:
		c.Header().Set("WWW-Authenticate", `Bearer realm="sessiond", error="insufficient_scope", scope="ssf:manage"`)
	}
	c.ResponseWriter.WriteHeader(status)
}

// Flush lets long polls and streaming answers through the wrapper.
func (c *challenger) Flush() {
	if f, ok := c.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}
