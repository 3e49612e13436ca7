package console_test

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/golang-jwt/jwt/v5"

	"github.com/sessiond/sessiond/internal/oidctest"
)

// oidcAudience is the API's audience at the provider.
const oidcAudience = "sessiond-admin"

// startOIDCServer starts sessiond with the console signing people in at
// idp, and access-denied records written every 100 ms.
func startOIDCServer(t *testing.T, idp *oidctest.IdP, env ...string) *testServer {
	t.Helper()
	return startServer(t, append([]string{
		"SESSIOND_ADMIN_OIDC_ISSUER", idp.Issuer(),
		"SESSIOND_ADMIN_OIDC_AUDIENCE", oidcAudience,
		"SESSIOND_CONSOLE_OIDC_CLIENT_ID", idp.ClientID(),
		"SESSIOND_CONSOLE_OIDC_CLIENT_SECRET", idp.ClientSecret(),
		"SESSIOND_ACCESS_DENIED_INTERVAL", "100ms",
	}, env...)...)
}

// adaTokens makes the provider's tokens those of a person the API accepts:
// the API's audience and scopes in the access token (mockoidc's carry
// neither), her name and methods; the email comes from the ID token.
func adaTokens(scope string) func(access, id jwt.MapClaims) {
	return func(access, id jwt.MapClaims) {
		access["aud"] = oidcAudience
		if scope != "" {
			access["scope"] = scope
		}
		access["name"] = "Ada Lovelace"
		access["amr"] = []string{"pwd", "mfa"}
	}
}

// TestConsoleOIDCSignInRevoke: a person signs in through the identity
// provider in Chromium (authorization code flow with PKCE), revokes a
// session, and the revocation names her iss and sub; signing out goes
// through the provider's end_session_endpoint and back.
func TestConsoleOIDCSignInRevoke(t *testing.T) {
	idp := oidctest.Start(t)
	idp.EnableLogout(t)
	idp.QueueUser("ada-7f3e", "ada@example.com")
	idp.ShapeTokens(adaTokens("sessions:read sessions:revoke audit:read"))
	srv := startOIDCServer(t, idp)
	key := srv.key("ops")
	srv.start(key, "alice", "s-1")
	tb := newTab(t, srv)

	tb.open("/console/signin")
	tb.shot("signin-idp")
	tb.do(chromedp.Click(chromedp.ID("idp-signin")), chromedp.WaitVisible(chromedp.ID("who-name")))
	if got := tb.text("#who-name"); got != "ada@example.com" {
		t.Fatalf("signed in as %q, want ada@example.com", got)
	}
	if got := srv.count(`type = 'ConsoleSignedIn' AND data->>'method' = 'oidc' AND data->'actor'->>'kind' = 'oidc'
		AND data->'actor'->>'sub' = 'ada-7f3e' AND data->'actor'->>'iss' = $1 AND data->'actor'->>'name' = 'Ada Lovelace'
		AND data->'actor'->>'email' = 'ada@example.com'`, idp.Issuer()); got != 1 {
		t.Fatalf("%d ConsoleSignedIn events of the person by oidc, want 1", got)
	}

	// PKCE (S256), state and nonce went out; the verifier came back.
	auth := idp.AuthorizeRequests()
	tokens := idp.TokenRequests()
	if len(auth) != 1 || len(tokens) == 0 {
		t.Fatalf("%d authorization and %d token requests, want 1 and some", len(auth), len(tokens))
	}
	a, tk := auth[0], tokens[len(tokens)-1]
	if a.Get("code_challenge_method") != "S256" || a.Get("state") == "" || a.Get("nonce") == "" ||
		a.Get("redirect_uri") != srv.URL+"/console/signin/oidc/callback" {
		t.Fatalf("authorization request %v: want S256 challenge, state, nonce and the callback", a)
	}
	sum := sha256.Sum256([]byte(tk.Get("code_verifier")))
	if tk.Get("code_verifier") == "" || base64.RawURLEncoding.EncodeToString(sum[:]) != a.Get("code_challenge") {
		t.Fatalf("token request %v: want the code_verifier of challenge %s", tk, a.Get("code_challenge"))
	}

	tb.open("/console/users?user=alice")
	tb.do(chromedp.SendKeys(chromedp.ID("reason-s-1"), "phished"),
		chromedp.Click(chromedp.ID("revoke-s-1")),
		chromedp.WaitVisible(chromedp.ID("outcome")))
	tb.shot("revoked-by-person")
	if got := srv.count(`type = 'SessionRevoked' AND metadata->'actor'->>'kind' = 'oidc'
		AND metadata->'actor'->>'iss' = $1 AND metadata->'actor'->>'sub' = 'ada-7f3e'`, idp.Issuer()); got != 1 {
		t.Fatalf("%d SessionRevoked events by the person, want 1", got)
	}
	st, body := srv.api("GET", "/audit/events?actor=ada-7f3e", key, "")
	var page struct {
		Events []struct {
			Type     string `json:"type"`
			Metadata struct {
				Actor struct{ Iss, Sub string }
			} `json:"metadata"`
		} `json:"events"`
	}
	if err := json.Unmarshal(body, &page); st != http.StatusOK || err != nil {
		t.Fatalf("audit by actor = %d %s (%v)", st, body, err)
	}
	found := false
	for _, e := range page.Events {
		if e.Type == "SessionRevoked" && e.Metadata.Actor.Iss == idp.Issuer() && e.Metadata.Actor.Sub == "ada-7f3e" {
			found = true
		}
	}
	if !found {
		t.Fatalf("GET /audit/events?actor=ada-7f3e has no SessionRevoked by the person: %s", body)
	}

	// Sign out: RP-initiated logout at the provider, then back here.
	tb.do(chromedp.Click(chromedp.CSS(`form[action="/console/signout"] button`)),
		chromedp.WaitVisible(chromedp.CSS(`#main .alert-info`)))
	if loc := tb.location(); !strings.HasSuffix(loc, "/console/signin?ended=signed-out") {
		t.Fatalf("after sign-out at %s", loc)
	}
	logouts := idp.LogoutRequests()
	if len(logouts) != 1 {
		t.Fatalf("%d logout requests at the provider, want 1", len(logouts))
	}
	if l := logouts[0]; l.Get("id_token_hint") == "" || l.Get("post_logout_redirect_uri") != srv.URL+"/console/signed-out" ||
		l.Get("client_id") != idp.ClientID() {
		t.Fatalf("logout request %v: want id_token_hint, post_logout_redirect_uri and client_id", l)
	}
	if got := srv.count(`type = 'ConsoleSignedOut' AND data->>'reason' = 'signed-out' AND data->'actor'->>'sub' = 'ada-7f3e'`); got != 1 {
		t.Fatalf("%d ConsoleSignedOut events of the person, want 1", got)
	}
	if v := tb.cspViolations(); len(v) > 0 {
		t.Fatalf("CSP violations: %v", v)
	}
}

// client is a browser without a page: a cookie jar, redirects not
// followed, so a test can look at (and tamper with) every hop.
type client struct {
	t *testing.T
	c *http.Client
}

func newClient(t *testing.T) *client {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &client{t: t, c: &http.Client{Jar: jar, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

func (c *client) get(u string) (*http.Response, string) {
	c.t.Helper()
	resp, err := c.c.Get(u)
	if err != nil {
		c.t.Fatalf("GET %s: %v", u, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// begin starts a sign-in and returns the provider's answer to the
// authorization request: the callback URL with code and state.
func (c *client) begin(srv *testServer) *url.URL {
	c.t.Helper()
	resp, body := c.get(srv.URL + "/console/signin/oidc")
	if resp.StatusCode != http.StatusSeeOther {
		c.t.Fatalf("start = %d %s", resp.StatusCode, body)
	}
	var pre *http.Cookie
	for _, ck := range resp.Cookies() {
		if ck.Name == "sessiond_console_oidc" {
			pre = ck
		}
	}
	if pre == nil || !pre.HttpOnly || pre.SameSite != http.SameSiteLaxMode || pre.Path != "/console/" || pre.MaxAge != 600 {
		c.t.Fatalf("pre-auth cookie = %+v; want HttpOnly, SameSite=Lax, Path=/console/, 10 minutes", pre)
	}
	resp, body = c.get(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusFound {
		c.t.Fatalf("authorize = %d %s", resp.StatusCode, body)
	}
	cb, err := url.Parse(resp.Header.Get("Location"))
	if err != nil {
		c.t.Fatal(err)
	}
	return cb
}

// refused checks that a callback answered status with want in the page.
func refused(t *testing.T, resp *http.Response, body string, status int, want string) {
	t.Helper()
	if resp.StatusCode != status || !strings.Contains(body, want) {
		t.Fatalf("callback = %d, want %d with %q:\n%s", resp.StatusCode, status, want, body)
	}
	if strings.Contains(body, `id="who-name"`) {
		t.Fatal("a console session was started")
	}
}

func withParam(u *url.URL, k, v string) string {
	c := *u
	q := c.Query()
	q.Set(k, v)
	c.RawQuery = q.Encode()
	return c.String()
}

// TestConsoleOIDCRefusals: sign-ins started in two tabs both finish; a
// callback with a state this browser did not start, a state from another
// browser, a replayed callback or code, a nonce that is not the
// sign-in's, an access token that is not the ID token's (at_hash), an ID
// token issued to another client (azp), the provider's access_denied, and
// a person without any sessiond scope each get the sign-in page with the
// reason; nothing is started, and each refusal is recorded as
// AccessDenied.
func TestConsoleOIDCRefusals(t *testing.T) {
	idp := oidctest.Start(t)
	idp.ShapeTokens(adaTokens("sessions:read"))
	srv := startOIDCServer(t, idp)

	t.Run("state mismatch", func(t *testing.T) {
		c := newClient(t)
		cb := c.begin(srv)
		resp, body := c.get(withParam(cb, "state", "forged-state"))
		refused(t, resp, body, http.StatusForbidden, "state mismatch")
		// The real state from a browser that did not start the sign-in.
		resp, body = newClient(t).get(cb.String())
		refused(t, resp, body, http.StatusForbidden, "another browser")
	})

	t.Run("two tabs", func(t *testing.T) {
		c := newClient(t)
		first, second := c.begin(srv), c.begin(srv)
		for _, cb := range []*url.URL{second, first} {
			if resp, body := c.get(cb.String()); resp.StatusCode != http.StatusOK {
				t.Fatalf("callback = %d %s", resp.StatusCode, body)
			}
		}
	})

	t.Run("replayed callback and code", func(t *testing.T) {
		c := newClient(t)
		cb := c.begin(srv)
		resp, body := c.get(cb.String())
		if resp.StatusCode != http.StatusOK || !strings.Contains(body, `http-equiv="refresh"`) {
			t.Fatalf("good callback = %d %s", resp.StatusCode, body)
		}
		// The person holds sessions:read only; the console says so in her terms.
		resp, body = c.get(srv.URL + "/console/audit")
		if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "your identity provider account lacks the audit:read scope") {
			t.Fatalf("audit page without audit:read = %d %s", resp.StatusCode, body)
		}
		resp, body = c.get(cb.String())
		refused(t, resp, body, http.StatusForbidden, "already used")
		// The used code under a fresh sign-in's state: the provider refuses it.
		fresh := c.begin(srv)
		resp, body = c.get(withParam(fresh, "code", cb.Query().Get("code")))
		refused(t, resp, body, http.StatusUnauthorized, "refused the sign-in code")
	})

	t.Run("nonce mismatch", func(t *testing.T) {
		idp.ShapeTokens(func(access, id jwt.MapClaims) {
			adaTokens("sessions:read")(access, id)
			id["nonce"] = "someone-elses-nonce"
		})
		defer idp.ShapeTokens(adaTokens("sessions:read"))
		c := newClient(t)
		resp, body := c.get(c.begin(srv).String())
		refused(t, resp, body, http.StatusUnauthorized, "nonce does not match")
	})

	t.Run("substituted access token", func(t *testing.T) {
		idp.ShapeTokens(func(access, id jwt.MapClaims) {
			adaTokens("sessions:read")(access, id)
			id["at_hash"] = "bm90LXRoaXMtdG9rZW4" // the hash of another token
		})
		defer idp.ShapeTokens(adaTokens("sessions:read"))
		c := newClient(t)
		resp, body := c.get(c.begin(srv).String())
		refused(t, resp, body, http.StatusUnauthorized, "at_hash")
	})

	t.Run("ID token issued to another client", func(t *testing.T) {
		idp.ShapeTokens(func(access, id jwt.MapClaims) {
			adaTokens("sessions:read")(access, id)
			id["aud"] = []string{idp.ClientID(), "other-app"}
			id["azp"] = "other-app"
		})
		defer idp.ShapeTokens(adaTokens("sessions:read"))
		c := newClient(t)
		resp, body := c.get(c.begin(srv).String())
		refused(t, resp, body, http.StatusUnauthorized, "not issued to this console")
	})

	t.Run("access denied", func(t *testing.T) {
		idp.DenyNext("access_denied")
		c := newClient(t)
		resp, body := c.get(c.begin(srv).String())
		refused(t, resp, body, http.StatusForbidden, "access_denied")
	})

	t.Run("no sessiond scope", func(t *testing.T) {
		idp.ShapeTokens(adaTokens(""))
		defer idp.ShapeTokens(adaTokens("sessions:read"))
		c := newClient(t)
		resp, body := c.get(c.begin(srv).String())
		refused(t, resp, body, http.StatusForbidden, "holds no sessiond scope")
	})

	if got := srv.count(`type = 'ConsoleSignedIn'`); got != 3 {
		t.Fatalf("%d console sessions started, want only the three good ones", got)
	}
	waitFor(t, func() error {
		n := srv.count(`type = 'AccessDenied' AND data->'routes' ? 'GET /console/signin/oidc/callback'`)
		if n == 0 {
			return fmt.Errorf("no AccessDenied for the callback yet")
		}
		return nil
	})
}

// TestConsoleKeySignInOff: with --console-key-signin=false the sign-in
// page offers only the identity provider, and a posted key is refused.
func TestConsoleKeySignInOff(t *testing.T) {
	idp := oidctest.Start(t)
	srv := startOIDCServer(t, idp, "SESSIOND_CONSOLE_KEY_SIGNIN", "false")
	key := srv.key("ops")
	c := newClient(t)
	resp, body := c.get(srv.URL + "/console/signin")
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, `id="idp-signin"`) || strings.Contains(body, `name="key"`) {
		t.Fatalf("sign-in page = %d; want the provider's link and no key form:\n%s", resp.StatusCode, body)
	}
	// Even with the form's CSRF token and cookie a key is refused.
	u, _ := url.Parse(srv.URL + "/console/")
	c.c.Jar.SetCookies(u, []*http.Cookie{{Name: "sessiond_console_signin", Value: "tok", Path: "/console/"}})
	resp, err := c.c.PostForm(srv.URL+"/console/signin", url.Values{"key": {key}, "csrf": {"tok"}})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(string(b), "turned off") {
		t.Fatalf("posted key = %d, want 403 saying key sign-in is turned off:\n%s", resp.StatusCode, b)
	}
	if got := srv.count(`type = 'ConsoleSignedIn'`); got != 0 {
		t.Fatalf("%d console sessions started", got)
	}
}

// TestConsoleOIDCLocalSignOut: a provider without an end_session_endpoint
// gets no logout redirect; the sign-out is local and recorded.
func TestConsoleOIDCLocalSignOut(t *testing.T) {
	idp := oidctest.Start(t)
	idp.QueueUser("grace-1", "grace@example.com")
	idp.ShapeTokens(adaTokens("sessions:read"))
	srv := startOIDCServer(t, idp)
	c := newClient(t)
	if resp, body := c.get(c.begin(srv).String()); resp.StatusCode != http.StatusOK {
		t.Fatalf("callback = %d %s", resp.StatusCode, body)
	}
	resp, body := c.get(srv.URL + "/console/users")
	_, after, ok := strings.Cut(body, `name="csrf" value="`)
	if resp.StatusCode != http.StatusOK || !ok || !strings.Contains(body, "Signed in as") {
		t.Fatalf("users page = %d %s", resp.StatusCode, body)
	}
	token, _, _ := strings.Cut(after, `"`)
	resp, err := c.c.PostForm(srv.URL+"/console/signout", url.Values{"csrf": {token}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusSeeOther || loc != "/console/signin?ended=signed-out" {
		t.Fatalf("sign-out = %d to %q, want 303 to the sign-in page", resp.StatusCode, loc)
	}
	if got := srv.count(`type = 'ConsoleSignedOut' AND data->>'reason' = 'signed-out' AND data->'actor'->>'sub' = 'grace-1'`); got != 1 {
		t.Fatalf("%d ConsoleSignedOut events of the person, want 1", got)
	}
}

// TestConsoleOIDCProviderDown: while the provider cannot be reached, the
// sign-in says so (503) and starts nothing; once it answers, it works.
func TestConsoleOIDCProviderDown(t *testing.T) {
	idp := oidctest.Start(t)
	idp.ShapeTokens(adaTokens("sessions:read"))
	srv := startOIDCServer(t, idp)
	idp.SetDown(true)
	c := newClient(t)
	resp, body := c.get(srv.URL + "/console/signin/oidc")
	if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(body, "Your identity provider cannot be reached") {
		t.Fatalf("start while the provider is down = %d %s", resp.StatusCode, body)
	}
	idp.SetDown(false)
	waitFor(t, func() error { // discovery is retried after 5 s
		resp, _ := c.get(srv.URL + "/console/signin/oidc")
		if resp.StatusCode != http.StatusSeeOther {
			return fmt.Errorf("start = %d", resp.StatusCode)
		}
		return nil
	})
}
