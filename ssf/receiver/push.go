package receiver

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
)

// Handler is an RFC 8935 push endpoint. It answers 202 for a valid SET
// (calling handle once per jti; a repeated jti is acknowledged without
// calling it again), 400 with {"err", "description"} for an invalid one,
// and 401 when authorization is set and the request's Authorization
// header differs.
func (r *Receiver) Handler(authorization string, handle func(*SET)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.Method != http.MethodPost {
			http.Error(w, "POST only", http.StatusMethodNotAllowed)
			return
		}
		if authorization != "" && req.Header.Get("Authorization") != authorization {
			writeErr(w, http.StatusUnauthorized, "authentication_failed", "bad or missing Authorization")
			return
		}
		if ct := req.Header.Get("Content-Type"); ct != "application/secevent+jwt" {
			writeErr(w, http.StatusBadRequest, "invalid_request", "Content-Type must be application/secevent+jwt")
			return
		}
		body, err := io.ReadAll(io.LimitReader(req.Body, 1<<20))
		if err != nil {
			writeErr(w, http.StatusBadRequest, "invalid_request", "unreadable body")
			return
		}
		set, err := r.Validate(req.Context(), string(body))
		switch {
		case errors.Is(err, ErrDuplicate):
			w.WriteHeader(http.StatusAccepted)
		case errors.Is(err, ErrUnavailable):
			w.Header().Set("Retry-After", "1")
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
		case err != nil:
			writeErr(w, http.StatusBadRequest, Code(err), err.Error())
		default:
			if handle != nil {
				handle(set)
			}
			w.WriteHeader(http.StatusAccepted)
		}
	})
}

func writeErr(w http.ResponseWriter, status int, code, description string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"err": code, "description": description})
}
