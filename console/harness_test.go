package console_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sessiond/sessiond/internal/pgtest"
	"github.com/sessiond/sessiond/internal/server"
	"github.com/sessiond/sessiond/internal/waitfor"
)

// One headless Chromium serves every test of the package; each test gets
// its own browser context (cookies, downloads) and tab.
var (
	browserOnce   sync.Once
	browserCtx    context.Context
	browserCancel context.CancelFunc = func() {}
	browserErr    error
)

func TestMain(m *testing.M) { pgtest.MainWith(m, func() { browserCancel() }) }

// chromiumPath finds Chromium. Outside CI a machine without it skips the
// browser tests; in CI (CI set) its absence fails them.
func chromiumPath(t *testing.T) string {
	t.Helper()
	for _, p := range []string{os.Getenv("CHROMIUM"), "chromium", "chromium-browser", "/usr/bin/chromium"} {
		if p == "" {
			continue
		}
		if path, err := exec.LookPath(p); err == nil {
			return path
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatal("chromium is not installed; .ci/run installs it (apt-get install chromium)")
	}
	t.Skip("chromium is not installed (set CHROMIUM or install Debian's chromium)")
	return ""
}

func sharedBrowser(t *testing.T) context.Context {
	t.Helper()
	path := chromiumPath(t)
	browserOnce.Do(func() {
		opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(path), chromedp.NoSandbox,
			chromedp.WindowSize(1280, 860), chromedp.DisableGPU)
		alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
		ctx, cancel := chromedp.NewContext(alloc)
		browserErr = chromedp.Do(ctx) // starts the browser
		browserCtx, browserCancel = ctx, func() { cancel(); cancelAlloc() }
	})
	if browserErr != nil {
		t.Fatalf("start chromium: %v", browserErr)
	}
	return browserCtx
}

// tab is a browser tab on a test server, recording what the page says on
// its console and any CSP violation.
type tab struct {
	t   *testing.T
	ctx context.Context
	srv *testServer

	mu         sync.Mutex
	console    []string
	violations []string
	dialogs    []string
}

// cspProbe reports every securitypolicyviolation of every page on the
// console, where the tab collects it across navigations. It is injected
// by the DevTools protocol, which the page's CSP does not govern.
const cspProbe = `document.addEventListener("securitypolicyviolation", function (e) {
  console.error("CSP-VIOLATION " + e.violatedDirective + " blocked " + e.blockedURI);
});`

func newTab(t *testing.T, srv *testServer) *tab {
	t.Helper()
	ctx, cancel := chromedp.NewContext(sharedBrowser(t), chromedp.WithNewBrowserContext())
	t.Cleanup(cancel)
	ctx, cancelTimeout := context.WithTimeout(ctx, time.Minute)
	t.Cleanup(cancelTimeout)
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("open tab: %v", err)
	}
	tb := &tab{t: t, ctx: ctx, srv: srv}
	messages := chromedp.Console(ctx)
	dialogs := chromedp.Events(ctx, page.JavascriptDialogOpening)
	go func() {
		for m, err := range messages {
			if err != nil {
				return
			}
			text := m.Text
			tb.mu.Lock()
			tb.console = append(tb.console, string(m.Type)+": "+text)
			if strings.Contains(text, "CSP-VIOLATION") || strings.Contains(text, "Content Security Policy") {
				tb.violations = append(tb.violations, text)
			}
			tb.mu.Unlock()
		}
	}()
	go func() {
		for ev, err := range dialogs {
			if err != nil {
				return
			}
			tb.mu.Lock()
			tb.dialogs = append(tb.dialogs, string(ev.Type)+": "+ev.Message)
			tb.mu.Unlock()
			// A person confirms what the console asks; anything else
			// (an alert: a script that should not run) is dismissed.
			accept := ev.Type == page.DialogTypeConfirm
			_, _ = chromedp.Call(ctx, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: accept})
		}
	}()
	if _, err := chromedp.Call(ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: cspProbe}); err != nil {
		t.Fatalf("add CSP probe: %v", err)
	}
	return tb
}

// do runs actions, failing the test on error.
func (tb *tab) do(steps ...chromedp.Action[chromedp.Void]) {
	tb.t.Helper()
	if err := chromedp.Do(tb.ctx, steps...); err != nil {
		tb.t.Fatalf("browser: %v\nconsole: %s", err, strings.Join(tb.consoleLines(), "\n"))
	}
}

func (tb *tab) text(sel string) string {
	tb.t.Helper()
	s, err := chromedp.Run(tb.ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		tb.t.Fatalf("text of %s: %v", sel, err)
	}
	return s
}

func (tb *tab) location() string {
	tb.t.Helper()
	s, err := chromedp.Run(tb.ctx, chromedp.Location())
	if err != nil {
		tb.t.Fatal(err)
	}
	return s
}

func (tb *tab) consoleLines() []string {
	tb.mu.Lock()
	defer tb.mu.Unlock()
	return append([]string(nil), tb.console...)
}

func (tb *tab) cspViolations() []string {
	tb.mu.Lock()
	defer tb.mu.Unlock()
	return append([]string(nil), tb.violations...)
}

// open navigates to a console path and waits for its heading.
func (tb *tab) open(path string) {
	tb.t.Helper()
	tb.do(chromedp.Navigate(tb.srv.URL+path), chromedp.WaitVisible(chromedp.CSS("main h1")))
}

// signIn signs in with key through the form.
func (tb *tab) signIn(key string) {
	tb.t.Helper()
	tb.open("/console/signin")
	tb.do(chromedp.SendKeys(chromedp.ID("key"), key),
		chromedp.Click(chromedp.CSS("#signin button")),
		chromedp.WaitVisible(chromedp.ID("who-name")))
}

// shot writes a full-page screenshot to testdata/screenshots/name.png
// (ignored by git) for a person to look at.
func (tb *tab) shot(name string) {
	tb.t.Helper()
	buf, err := chromedp.Run(tb.ctx, chromedp.FullScreenshot(100))
	if err != nil {
		tb.t.Fatalf("screenshot: %v", err)
	}
	dir := filepath.Join("testdata", "screenshots")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		tb.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), buf, 0o644); err != nil {
		tb.t.Fatal(err)
	}
}

// testServer is a sessiond started through server.Main on a fresh
// PostgreSQL database.
type testServer struct {
	t    *testing.T
	URL  string
	DB   string
	Pool *pgxpool.Pool
	Data string
}

func startServer(t *testing.T, env ...string) *testServer {
	t.Helper()
	pool, dbURL := pgtest.NewPool(t)
	data := t.TempDir()
	vars := map[string]string{"DATABASE_URL": dbURL, "SESSIOND_DATA_DIR": data, "SESSIOND_NATS_LISTEN": "127.0.0.1:0"}
	for i := 0; i+1 < len(env); i += 2 {
		vars[env[i]] = env[i+1]
	}
	m := server.NewMain()
	m.Stdout, m.Stderr = io.Discard, io.Discard
	m.Getenv = func(k string) string { return vars[k] }
	m.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	if err := m.Start(context.Background(), []string{"--http-addr", "127.0.0.1:0"}); err != nil {
		t.Fatalf("start: %v", err)
	}
	t.Cleanup(func() { m.Close() })
	return &testServer{t: t, URL: "http://" + m.Addr(), DB: dbURL, Pool: pool, Data: data}
}

// key creates an admin key with scopes and returns its secret.
func (s *testServer) key(name string, scopes ...string) string {
	s.t.Helper()
	if len(scopes) == 0 {
		scopes = []string{"sessions:read", "sessions:write", "sessions:revoke", "audit:read", "personal:read"}
	}
	out := s.cli("keys", "create", "--name", name, "--owner", name+"@example.test", "--scopes", strings.Join(scopes, ","))
	lines := strings.Split(strings.TrimSpace(out), "\n")
	return lines[len(lines)-1]
}

// cli runs a sessiond command on the server's database and returns its
// output.
func (s *testServer) cli(args ...string) string {
	s.t.Helper()
	var out bytes.Buffer
	m := server.NewMain()
	m.Stdout, m.Stderr = &out, io.Discard
	m.Getenv = func(k string) string {
		return map[string]string{"DATABASE_URL": s.DB, "SESSIOND_DATA_DIR": s.Data}[k]
	}
	m.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	if err := m.Run(context.Background(), args); err != nil {
		s.t.Fatalf("sessiond %s: %v", strings.Join(args, " "), err)
	}
	return out.String()
}

// api calls the admin API and returns the status and body.
func (s *testServer) api(method, path, key, body string, headers ...string) (int, []byte) {
	s.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, s.URL+"/auth/admin/api"+path, rd)
	if err != nil {
		s.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+key)
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
	if err != nil {
		s.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// start begins a session.
func (s *testServer) start(key, user, sid string) {
	s.t.Helper()
	if st, b := s.api("POST", "/users/"+user+"/sessions", key, `{"sessionId":"`+sid+`","ttlSeconds":3600}`); st != http.StatusCreated {
		s.t.Fatalf("start %s/%s = %d %s", user, sid, st, b)
	}
}

func (s *testServer) count(where string, args ...any) int {
	s.t.Helper()
	var n int
	if err := s.Pool.QueryRow(context.Background(), `SELECT count(*) FROM events WHERE `+where, args...).Scan(&n); err != nil {
		s.t.Fatal(err)
	}
	return n
}

// follow clicks sel and waits for the page it leads to to load.
func (tb *tab) follow(sel string) {
	tb.t.Helper()
	if _, err := chromedp.Run(tb.ctx, chromedp.WaitEvent(page.LoadEventFired, nil, chromedp.Click(chromedp.CSS(sel)))); err != nil {
		tb.t.Fatalf("follow %s: %v", sel, err)
	}
}

func waitFor(t *testing.T, fn func() error) {
	t.Helper()
	waitfor.Cond(t, 15*time.Second, fn)
}

func (tb *tab) dialogsSeen() []string {
	tb.mu.Lock()
	defer tb.mu.Unlock()
	return append([]string(nil), tb.dialogs...)
}
