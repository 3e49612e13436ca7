package api

import (
	"context"
	"net/http"
	"regexp"
	"runtime/debug"
	"strconv"
	"time"

	"github.com/google/uuid"
	"github.com/gorilla/mux"

	"github.com/sessiond/sessiond/domain"
)

type ctxKey int

const (
	keyRequestID ctxKey = iota
	keyRoute
	keyPrincipal
)

// validRequestID is what a client-supplied X-Request-Id must look like to
// be kept.
var validRequestID = regexp.MustCompile(`^[A-Za-z0-9._:-]{1,128}$`)

func requestID(ctx context.Context) string {
	id, _ := ctx.Value(keyRequestID).(string)
	return id
}

// withRequestID keeps a valid X-Request-Id or makes one, and echoes it.
func withRequestID(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get("X-Request-Id")
		if !validRequestID.MatchString(id) {
			id = uuid.Must(uuid.NewV7()).String()
		}
		w.Header().Set("X-Request-Id", id)
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), keyRequestID, id)))
	})
}

// recoverPanics turns a panic into a 500 INTERNAL, logged once with its
// stack; the client sees no stack.
func (s *Server) recoverPanics(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			v := recover()
			if v == nil {
				return
			}
			if v == http.ErrAbortHandler {
				panic(v)
			}
			s.log.ErrorContext(r.Context(), "panic", "panic", v, "stack", string(debug.Stack()),
				"method", r.Method, "path", r.URL.Path, "requestId", requestID(r.Context()))
			writeJSON(w, http.StatusInternalServerError, ErrorResponse{StatusCode: 500,
				Error: http.StatusText(500), Message: "internal error", Code: string(domain.CodeInternal)})
		}()
		next.ServeHTTP(w, r)
	})
}

// routeHolder lets the router tell the outer metrics middleware which
// route template matched.
type routeHolder struct{ template string }

// observe records request metrics, labelled by route template (never by
// raw path), and logs the request at debug level.
func (s *Server) observe(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		holder := &routeHolder{template: "unmatched"}
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(rec, r.WithContext(context.WithValue(r.Context(), keyRoute, holder)))
		took := time.Since(start)
		httpRequests.WithLabelValues(holder.template, r.Method, statusClass(rec.status)).Inc()
		httpDuration.WithLabelValues(holder.template, r.Method).Observe(took.Seconds())
		s.log.DebugContext(r.Context(), "request", "method", r.Method, "route", holder.template,
			"status", rec.status, "took", took, "requestId", requestID(r.Context()))
	})
}

// markRoute is router middleware: it stores the matched route template.
func markRoute(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if h, ok := r.Context().Value(keyRoute).(*routeHolder); ok {
			if route := mux.CurrentRoute(r); route != nil {
				if t, err := route.GetPathTemplate(); err == nil {
					h.template = t
				}
			}
		}
		next.ServeHTTP(w, r)
	})
}

type statusRecorder struct {
	http.ResponseWriter
	status int
	wrote  bool
}

func (s *statusRecorder) WriteHeader(code int) {
	if !s.wrote {
		s.status, s.wrote = code, true
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	s.wrote = true
	return s.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }

func statusClass(code int) string { return strconv.Itoa(code) }
