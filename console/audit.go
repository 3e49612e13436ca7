package console

import (
	"encoding/hex"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"time"

	"github.com/sessiond/sessiond/domain"
	"github.com/sessiond/sessiond/internal/apiwire"
	"github.com/sessiond/sessiond/internal/app"
)

// auditPageSize is how many events the audit log shows at a time.
const auditPageSize = 50

func hexOf(b []byte) string { return hex.EncodeToString(b) }

// auditRow is one event of the audit log page.
type auditRow struct {
	entry
	UserID    string
	SessionID string
	Story     string // console path of the session's story, if any
}

type auditView struct {
	Filter url.Values // the filters as given (for the form and links)
	Types  []string
	Rows   []auditRow
	Next   template.URL // query of the next page, "" on the last
	First  template.URL // query of the first page
	Export template.URL // query of the export buttons
	Shown  string
}

// auditFilters are the query parameters of GET /audit/events the console
// takes, in form order.
var auditFilters = []string{"userId", "sessionId", "type", "actor", "from", "to"}

// filterQuery keeps only the audit filters of q.
func filterQuery(q url.Values) url.Values {
	out := url.Values{}
	for _, k := range auditFilters {
		if v := q.Get(k); v != "" {
			out.Set(k, v)
		}
	}
	return out
}

// auditLog is GET /console/audit: the filters of GET /audit/events,
// position-paged.
func (c *Console) auditLog(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	v := auditView{Filter: filterQuery(q), Types: []string{domain.TypeSessionStarted, domain.TypeSessionRevoked,
		domain.TypeAdminKeyCreated, domain.TypeAdminKeyRevoked, domain.TypeAuditCheckpoint,
		domain.TypeConsoleSignedIn, domain.TypeConsoleSignedOut}}
	// Encoded by url.Values, so safe as a URL's query.
	v.First = template.URL(v.Filter.Encode())
	v.Export = v.First
	f, err := apiwire.AuditFilter(r)
	if err != nil {
		e := c.errorOf(r, err)
		c.renderView(w, r, e.Status, "audit", view{Page: v, Error: e})
		return
	}
	f.Limit = auditPageSize
	var recs []app.Event
	err = c.audit.Events(r.Context(), f, func(e *app.Event) error {
		recs = append(recs, *e)
		return nil
	})
	var personal []app.Personal
	if err == nil {
		personal, err = app.Redacting(c.audit, current(r).can(domain.ScopePersonalRead)).Reveal(r.Context(), recs)
	}
	if err == nil {
		// A page of the audit trail is recorded before it is shown, as the
		// API's are.
		err = c.svc.RecordRead(r.Context(), c.meta(r, current(r)), domain.AuditRead{Operation: "query", Via: "console",
			Filters: app.FilterMap(f), Format: "html", Rows: int64(len(recs)), Complete: true})
	}
	if err != nil {
		e := c.errorOf(r, err)
		c.renderView(w, r, e.Status, "audit", view{Page: v, Error: e})
		return
	}
	for i := range recs {
		row := auditRow{entry: entryOf(&recs[i], personal[i], true)}
		row.UserID, row.SessionID = idsOf(&recs[i])
		if row.UserID != "" && row.SessionID != "" {
			row.Story = storyURL(row.UserID, row.SessionID)
		}
		v.Rows = append(v.Rows, row)
	}
	if n := len(recs); n > 0 {
		v.Shown = fmt.Sprintf("positions %d to %d", recs[0].Position, recs[n-1].Position)
		if n == f.Limit {
			next := filterQuery(q)
			next.Set("afterPosition", fmt.Sprint(recs[n-1].Position))
			v.Next = template.URL(next.Encode())
		}
	}
	c.render(w, r, http.StatusOK, "audit", v)
}

// idsOf lifts the user and session ids out of an event's data.
func idsOf(r *app.Event) (user, session string) {
	var d struct {
		UserID    string `json:"userId"`
		SessionID string `json:"sessionId"`
	}
	_ = jsonUnmarshal(r.Data, &d)
	return d.UserID, d.SessionID
}

// export streams every event matching the filters as CSV or NDJSON: the
// same writer, columns and file the API's export uses.
func (c *Console) export(w http.ResponseWriter, r *http.Request) {
	format := map[string]string{"csv": app.MediaCSV, "ndjson": app.MediaNDJSON}[r.URL.Query().Get("format")]
	if format == "" {
		c.fail(w, r, domain.Errorf(domain.CodeValidation, "format must be csv or ndjson"))
		return
	}
	f, err := apiwire.AuditFilter(r)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	src := app.Redacting(c.audit, current(r).can(domain.ScopePersonalRead))
	rows, started, err := apiwire.StreamExport(w, r, src, f, format)
	if err != nil && !started {
		c.fail(w, r, err)
		return
	}
	// The export is recorded once its rows went out; if that cannot be
	// recorded, the download is cut short rather than left unrecorded.
	rerr := c.svc.RecordRead(r.Context(), c.meta(r, current(r)), domain.AuditRead{Operation: "export", Via: "console",
		Filters: app.FilterMap(f), Format: r.URL.Query().Get("format"), Rows: int64(rows), Complete: err == nil})
	if err == nil {
		err = rerr
	}
	if err != nil {
		c.log.WarnContext(r.Context(), "console audit export aborted", "err", err, "rows", rows, "requestId", requestID(r))
		panic(http.ErrAbortHandler)
	}
}

type asOfView struct {
	User     string
	At       string
	When     time.Time
	Sessions []app.Session
	Answer   *apiwire.ListResponse
}

// asOf is GET /console/audit/as-of: a user's sessions as they stood at a
// moment, replayed from the log.
func (c *Console) asOf(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	v := asOfView{User: q.Get("userId"), At: q.Get("at")}
	if v.User == "" || v.At == "" {
		c.render(w, r, http.StatusOK, "asof", v)
		return
	}
	fail := func(err error) {
		e := c.errorOf(r, err)
		c.renderView(w, r, e.Status, "asof", view{Page: v, Error: e})
	}
	if err := domain.ValidateUserID(v.User); err != nil {
		fail(err)
		return
	}
	at, err := time.Parse(time.RFC3339Nano, v.At)
	if err != nil {
		fail(domain.Errorf(domain.CodeValidation, "the moment must be an RFC 3339 time, e.g. 2026-03-01T14:03:00Z"))
		return
	}
	list, err := c.audit.SessionsAsOf(r.Context(), v.User, at)
	if err != nil {
		fail(err)
		return
	}
	v.When, v.Sessions = at, list
	v.Answer = &apiwire.ListResponse{Sessions: make([]apiwire.SessionDTO, len(list))}
	for i, s := range list {
		v.Answer.Sessions[i] = apiwire.SessionDTOOf(s)
	}
	c.render(w, r, http.StatusOK, "asof", v)
}
