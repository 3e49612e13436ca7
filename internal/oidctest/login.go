package oidctest

import (
	"encoding/json"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"sync"
	"testing"

	"github.com/golang-jwt/jwt/v5"
	"github.com/oauth2-proxy/mockoidc"
)

// login holds the controls of browser sign-ins (the authorization code
// flow): mockoidc's authorization endpoint approves the queued user at
// once; these shape the tokens it returns, make it refuse, record what
// the client sent, and add an end_session_endpoint.
type login struct {
	mu        sync.Mutex
	shape     func(access, id jwt.MapClaims)
	deny      string // the error of the next authorization request
	authorize []url.Values
	token     []url.Values
	logouts   []url.Values
	logoutURL string // "": no end_session_endpoint
}

// ClientID and ClientSecret are the one client the provider knows.
func (p *IdP) ClientID() string     { return p.m.ClientID }
func (p *IdP) ClientSecret() string { return p.m.ClientSecret }

// QueueUser makes the next authorization request sign in sub, with email.
func (p *IdP) QueueUser(sub, email string) {
	p.m.QueueUser(&mockoidc.MockUser{Subject: sub, Email: email, EmailVerified: true})
}

// ShapeTokens has fn change the claims of every access token and ID
// token the token endpoint returns from now on; they are signed again
// with the provider's key. mockoidc's access tokens carry only the
// registered claims: fn adds the scope claim, name, amr, or a wrong nonce.
func (p *IdP) ShapeTokens(fn func(access, id jwt.MapClaims)) {
	p.login.mu.Lock()
	p.login.shape = fn
	p.login.mu.Unlock()
}

// DenyNext makes the next authorization request redirect back with
// error=code (access_denied: the person declined or is not assigned).
func (p *IdP) DenyNext(code string) {
	p.login.mu.Lock()
	p.login.deny = code
	p.login.mu.Unlock()
}

// AuthorizeRequests and TokenRequests are the parameters of the
// authorization and token requests received so far.
func (p *IdP) AuthorizeRequests() []url.Values { return p.login.list(&p.login.authorize) }
func (p *IdP) TokenRequests() []url.Values     { return p.login.list(&p.login.token) }

// LogoutRequests are the parameters of the end_session_endpoint requests.
func (p *IdP) LogoutRequests() []url.Values { return p.login.list(&p.login.logouts) }

func (l *login) list(v *[]url.Values) []url.Values {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(*v)
}

// EnableLogout advertises an end_session_endpoint (RP-initiated logout)
// in the discovery document; it records each request and sends the
// browser to its post_logout_redirect_uri.
func (p *IdP) EnableLogout(tb testing.TB) {
	tb.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		p.login.mu.Lock()
		p.login.logouts = append(p.login.logouts, q)
		p.login.mu.Unlock()
		if to := q.Get("post_logout_redirect_uri"); to != "" {
			http.Redirect(w, r, to, http.StatusFound)
			return
		}
		_, _ = w.Write([]byte("signed out"))
	}))
	tb.Cleanup(srv.Close)
	p.login.mu.Lock()
	p.login.logoutURL = srv.URL + "/logout"
	p.login.mu.Unlock()
}

// middleware applies the controls; it runs inside the IdP's lock, so it
// reads the key pair directly.
func (p *IdP) loginMiddleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		l := &p.login
		switch r.URL.Path {
		case mockoidc.AuthorizationEndpoint:
			_ = r.ParseForm()
			l.mu.Lock()
			l.authorize = append(l.authorize, maps.Clone(r.Form))
			deny := l.deny
			l.deny = ""
			l.mu.Unlock()
			if deny != "" {
				to, err := url.Parse(r.Form.Get("redirect_uri"))
				if err != nil {
					http.Error(w, "bad redirect_uri", http.StatusBadRequest)
					return
				}
				to.RawQuery = url.Values{"error": {deny}, "error_description": {"the user declined"}, "state": {r.Form.Get("state")}}.Encode()
				http.Redirect(w, r, to.String(), http.StatusFound)
				return
			}
		case mockoidc.TokenEndpoint:
			_ = r.ParseForm()
			l.mu.Lock()
			l.token = append(l.token, maps.Clone(r.PostForm))
			shape := l.shape
			l.mu.Unlock()
			if shape != nil {
				p.reshape(w, r, next, shape)
				return
			}
		case mockoidc.DiscoveryEndpoint:
			l.mu.Lock()
			logout := l.logoutURL
			l.mu.Unlock()
			if logout != "" {
				rewrite(w, r, next, func(doc map[string]any) { doc["end_session_endpoint"] = logout })
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// reshape re-signs the token response's tokens after shape changed their
// claims.
func (p *IdP) reshape(w http.ResponseWriter, r *http.Request, next http.Handler, shape func(access, id jwt.MapClaims)) {
	claimsOf := func(tok any) jwt.MapClaims {
		s, _ := tok.(string)
		c := jwt.MapClaims{}
		if s != "" {
			_, _, _ = jwt.NewParser().ParseUnverified(s, c)
		}
		return c
	}
	rewrite(w, r, next, func(doc map[string]any) {
		access, id := claimsOf(doc["access_token"]), claimsOf(doc["id_token"])
		shape(access, id)
		for name, c := range map[string]jwt.MapClaims{"access_token": access, "id_token": id} {
			if _, ok := doc[name]; !ok {
				continue
			}
			if s, err := p.m.Keypair.SignJWT(c); err == nil {
				doc[name] = s
			}
		}
	})
}

// rewrite serves next and changes its JSON answer with fn when it is 200.
func rewrite(w http.ResponseWriter, r *http.Request, next http.Handler, fn func(map[string]any)) {
	rec := httptest.NewRecorder()
	next.ServeHTTP(rec, r)
	body := rec.Body.Bytes()
	if rec.Code == http.StatusOK {
		var doc map[string]any
		if json.Unmarshal(body, &doc) == nil {
			fn(doc)
			if b, err := json.Marshal(doc); err == nil {
				body = b
			}
		}
	}
	maps.Copy(w.Header(), rec.Header())
	w.Header().Del("Content-Length")
	w.WriteHeader(rec.Code)
	_, _ = w.Write(body)
}
