package console

import (
	"bytes"
	"embed"
	"encoding/json"
	"html/template"
	"io/fs"
	"net/http"
	"strings"
	"time"

	"github.com/sessiond/sessiond/domain"
	"github.com/sessiond/sessiond/internal/apiwire"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// staticFiles serves the embedded CSS and JavaScript (under static/).
func staticFiles() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=300")
		http.FileServerFS(staticFS).ServeHTTP(w, r)
	})
}

func isStatic(r *http.Request) bool { return strings.HasPrefix(r.URL.Path, Prefix+"static/") }

var funcs = template.FuncMap{
	"when": func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.UTC().Format("2006-01-02 15:04:05.000 UTC")
	},
	"whenp": func(t *time.Time) string {
		if t == nil {
			return ""
		}
		return t.UTC().Format("2006-01-02 15:04:05.000 UTC")
	},
	"rfc3339": func(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) },
	"json": func(v any) (string, error) {
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false) // html/template escapes it for the page
		err := enc.Encode(v)
		return strings.TrimSpace(buf.String()), err
	},
	"pretty": func(raw json.RawMessage) string {
		var buf bytes.Buffer
		if json.Indent(&buf, raw, "", "  ") != nil {
			return string(raw)
		}
		return buf.String()
	},
}

// pages are the templates, each parsed with the layout.
var pages = func() map[string]*template.Template {
	out := map[string]*template.Template{}
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		panic(err)
	}
	for _, n := range names {
		name := strings.TrimSuffix(strings.TrimPrefix(n, "templates/"), ".html")
		if name == "layout" {
			continue
		}
		out[name] = template.Must(template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", n))
	}
	return out
}()

// view is what every page template gets.
type view struct {
	Title   string
	Nav     string // the active section
	Session *session
	CSRF    string
	Error   *errorView
	Page    any
	// Refresh, when set, moves the browser on to this URL at once.
	Refresh string
}

// Can reports whether the signed-in key holds scope (for showing or
// hiding controls; handlers check again).
func (v view) Can(scope string) bool { return v.Session.can(domain.Scope(scope)) }

func (c *Console) render(w http.ResponseWriter, r *http.Request, status int, name string, page any) {
	c.renderView(w, r, status, name, view{Page: page})
}

func (c *Console) renderView(w http.ResponseWriter, r *http.Request, status int, name string, v view) {
	t, ok := pages[name]
	if !ok {
		panic("console: no template " + name)
	}
	v.Session = current(r)
	if v.Session != nil {
		v.CSRF = v.Session.csrf
	}
	if v.Title == "" {
		v.Title = titles[name]
	}
	if v.Nav == "" {
		v.Nav = name
	}
	var buf bytes.Buffer
	if err := t.Execute(&buf, v); err != nil {
		c.log.ErrorContext(r.Context(), "console template", "template", name, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

var titles = map[string]string{
	"signin": "Sign in", "users": "Users and sessions", "story": "Session story", "revoked": "Revocation",
	"audit": "Audit log", "asof": "Sessions as of", "integrity": "Integrity", "verify": "Verification",
	"error": "Error", "home": "Console", "continue": "Signing in",
}

// errorView is an API error told in words.
type errorView struct {
	Status  int
	Code    string
	Words   string // what it means for the person
	Message string // the API's message (client-safe)
}

// words tells each error code in plain words.
var words = map[domain.Code]string{
	domain.CodeValidation:          "Something in the form is not valid.",
	domain.CodeAdminSessionMissing: "You are not signed in, or your console session has ended.",
	domain.CodeAdminSessionInvalid: "That admin key is not valid: it is unknown, revoked or mistyped.",
	domain.CodeForbidden:           "Your admin key is not allowed to do this.",
	domain.CodeUserNotFound:        "sessiond has no record of this user.",
	domain.CodeSessionNotFound:     "This user has no session with that id.",
	domain.CodeKeyNotFound:         "There is no such admin key.",
	domain.CodeRouteNotFound:       "There is no such page.",
	domain.CodeMethodNotAllowed:    "This page cannot be used that way.",
	domain.CodeConflict:            "Someone changed this at the same moment; try again.",
	domain.CodePayloadTooLarge:     "The form is too large.",
	domain.CodeRateLimited:         "Too many attempts; wait a little and try again.",
	domain.CodeUnavailable:         "The session store cannot be reached right now; nothing was changed. Try again shortly.",
	domain.CodeInternal:            "Something went wrong on the server; it has been logged.",
}

// errorOf turns err into words, logging internal errors once.
func (c *Console) errorOf(r *http.Request, err error) *errorView {
	code := domain.ErrorCode(err)
	switch code {
	case domain.CodeInternal:
		c.log.ErrorContext(r.Context(), "console internal error", "err", err, "method", r.Method, "path", r.URL.Path, "requestId", requestID(r))
	case domain.CodeUnavailable:
		c.log.WarnContext(r.Context(), "console: store unavailable", "err", err, "requestId", requestID(r))
	}
	w := words[code]
	switch s := current(r); {
	case code == domain.CodeForbidden && s != nil && s.Person():
		w = "Your account is not allowed to do this."
	case code == domain.CodeUnavailable && strings.HasPrefix(r.URL.Path, oidcStartPath):
		w = "Your identity provider cannot be reached right now; nothing was started. Try again shortly."
	}
	return &errorView{Status: apiwire.StatusOf(code), Code: string(code), Words: w, Message: domain.ErrorMessage(err)}
}

// fail answers with an error page in the error's HTTP status.
func (c *Console) fail(w http.ResponseWriter, r *http.Request, err error) {
	e := c.errorOf(r, err)
	c.renderView(w, r, e.Status, "error", view{Error: e})
}

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }
