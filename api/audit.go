package api

import (
	"context"
	"encoding/hex"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/sessiond/sessiond/domain"
	"github.com/sessiond/sessiond/internal/apiwire"
	"github.com/sessiond/sessiond/internal/app"
)

// Audit answers the audit routes from the log.
type Audit = app.AuditQueries

const defaultAuditLimit = 100

// AuditPage answers GET /audit/events as JSON.
type AuditPage struct {
	Events []app.AuditEvent `json:"events"`
	// Next is the afterPosition of the next page, or null on the last.
	Next *int64 `json:"next"`
}

// ChainResponse answers GET /audit/chain.
type ChainResponse struct {
	Position int64  `json:"position"`
	Hash     string `json:"hash"`
	// Checkpoint is the newest signed checkpoint, or null.
	Checkpoint *CheckpointDTO `json:"checkpoint"`
}

// CheckpointDTO is a signed checkpoint: keep Signature (a JWS) to prove
// later, with the JWKS, that nothing up to Position changed.
type CheckpointDTO struct {
	EventPosition int64     `json:"eventPosition"`
	Position      int64     `json:"position"`
	Hash          string    `json:"hash"`
	SignedAt      time.Time `json:"signedAt"`
	KeyID         string    `json:"keyId"`
	Signature     string    `json:"signature"`
}

// exportFormat picks NDJSON or CSV from Accept, or "" for a JSON page.
func exportFormat(r *http.Request) string {
	for _, part := range strings.Split(r.Header.Get("Accept"), ",") {
		mt, _, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err == nil && (mt == app.MediaNDJSON || mt == app.MediaCSV) {
			return mt
		}
	}
	return ""
}

func (s *Server) auditEvents(w http.ResponseWriter, r *http.Request) {
	f, err := apiwire.AuditFilter(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if format := exportFormat(r); format != "" {
		s.exportEvents(w, r, f, format)
		return
	}
	f.Limit = defaultAuditLimit
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > app.MaxAuditPage {
			s.writeError(w, r, domain.Errorf(domain.CodeValidation, "limit must be 1 to %d", app.MaxAuditPage))
			return
		}
		f.Limit = n
	}
	ctx, cancel := context.WithTimeout(r.Context(), s.opts.Timeout)
	defer cancel()
	r = r.WithContext(ctx)
	// One event more than the page tells whether another page follows, so
	// the last page says so (next: null) even when it is full.
	limit := f.Limit
	f.Limit++
	var recs []app.Event
	err = s.audit.Events(ctx, f, func(e *app.Event) error {
		recs = append(recs, *e)
		return nil
	})
	f.Limit = limit
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	more := len(recs) > limit
	if more {
		recs = recs[:limit]
	}
	personal, err := s.reveal(r, recs)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	page := AuditPage{Events: make([]app.AuditEvent, len(recs))}
	for i := range recs {
		page.Events[i] = app.AuditEventOf(&recs[i], personal[i])
	}
	if n := len(page.Events); more {
		last := page.Events[n-1].Position
		page.Next = &last
	}
	// The read is recorded before it is answered: a page that cannot be
	// recorded is not shown.
	if err := s.recordRead(r, domain.AuditRead{Operation: "query", Filters: app.FilterMap(f), Format: "json", Rows: int64(len(recs)), Complete: true}); err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, page)
}

// exportEvents streams every matching event. Nothing is buffered beyond a
// chunk of rows, and the write deadline moves on as chunks go out, so an
// export of millions of events runs in flat memory for as long as it
// takes.
func (s *Server) exportEvents(w http.ResponseWriter, r *http.Request, f app.AuditFilter, format string) {
	rows, started, err := apiwire.StreamExport(w, r, app.Redacting(s.audit, canSeePersonal(r)), f, format)
	if err != nil && !started {
		s.writeError(w, r, err)
		return
	}
	// Recorded once the rows are out (their number is known only then);
	// an export that cannot be recorded is cut short like a failed one,
	// so the client never holds an unrecorded complete export.
	rerr := s.recordRead(r, domain.AuditRead{Operation: "export", Filters: app.FilterMap(f), Format: apiwire.ExportExtension(format), Rows: int64(rows), Complete: err == nil})
	if err == nil && rerr != nil {
		err = rerr
	}
	if err != nil {
		// The status is sent; cut the stream short so the client sees an
		// incomplete body rather than a silently partial export.
		s.log.WarnContext(r.Context(), "audit export aborted", "err", err, "rows", rows, "requestId", requestID(r.Context()))
		panic(http.ErrAbortHandler)
	}
}

func (s *Server) auditChain(w http.ResponseWriter, r *http.Request) {
	pos, hash, err := s.audit.Head(r.Context())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	resp := ChainResponse{Position: pos, Hash: hex.EncodeToString(hash)}
	cp, at, err := s.audit.LatestCheckpoint(r.Context())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if cp != nil {
		resp.Checkpoint = &CheckpointDTO{EventPosition: at, Position: cp.Position, Hash: cp.Hash, SignedAt: cp.SignedAt, KeyID: cp.KeyID, Signature: cp.Signature}
	}
	writeJSON(w, http.StatusOK, resp)
}

// needAudit answers 503 when the server was built without audit queries.
func (s *Server) needAudit(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if s.audit == nil {
			s.writeError(w, r, domain.Errorf(domain.CodeUnavailable, "the audit log is not available on this server"))
			return
		}
		h(w, r)
	}
}

// listAsOf answers the session list as it stood at asOf, replayed from the
// log, with the same status filter and paging as the live list.
func (s *Server) listAsOf(w http.ResponseWriter, r *http.Request, userID string, asOf time.Time, status, after string, limit int) {
	if s.audit == nil {
		s.writeError(w, r, domain.Errorf(domain.CodeUnavailable, "the audit log is not available on this server"))
		return
	}
	all, err := s.audit.SessionsAsOf(r.Context(), userID, asOf)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	page := []app.Session{}
	for _, sess := range all {
		if sess.SessionID <= after || (status != "all" && string(sess.Status) != status) {
			continue
		}
		page = append(page, sess)
	}
	resp := apiwire.ListResponse{}
	if len(page) > limit {
		page = page[:limit]
		next := page[limit-1].SessionID
		resp.Next = &next
	}
	resp.Sessions = apiwire.SessionDTOs(page)
	writeJSON(w, http.StatusOK, resp)
}
