package console

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/sessiond/sessiond/domain"
	"github.com/sessiond/sessiond/internal/app"
)

// session is one signed-in person's console session, held server-side.
// The browser holds only a random token whose SHA-256 keys the store.
type session struct {
	id        string // public id, recorded on the events; not the cookie
	method    string // how the person signed in (domain.ConsoleMethod…)
	principal app.Principal
	csrf      string // the token every state-changing form carries
	created   time.Time
	// idToken is the identity provider's ID token of a person's sign-in,
	// the id_token_hint of the RP-initiated logout; never sent to the
	// browser but in that logout redirect.
	idToken string

	mu       sync.Mutex
	lastSeen time.Time
}

func (s *session) can(scope domain.Scope) bool {
	return s != nil && slices.Contains(s.principal.Scopes, scope)
}

// Name is the key name, or the person's label, shown in the header.
func (s *session) Name() string { return s.principal.Name }

// Person reports whether a person signed in through the identity
// provider (not with an admin key).
func (s *session) Person() bool { return s.principal.Person != nil }

// sessionStore holds the live console sessions of this process. Sessions
// are per process: behind several replicas, route a browser to one
// replica (sticky sessions) or it must sign in again.
type sessionStore struct {
	mu     sync.Mutex
	byHash map[[32]byte]*session
	// ended remembers why recently ended sessions ended, so the browser
	// that comes back is told; bounded by maxEnded.
	ended map[[32]byte]string
}

const maxEnded = 10000

func newSessionStore() *sessionStore {
	return &sessionStore{byHash: map[[32]byte]*session{}, ended: map[[32]byte]string{}}
}

// endedWhy says why the session of a cookie token ended, or "".
func (st *sessionStore) endedWhy(token string) string {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.ended[sha256.Sum256([]byte(token))]
}

// randomToken returns 32 random bytes, URL-safe base64.
func randomToken() string {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // the system's randomness failed: nothing is safe
	}
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// create stores a new session for p and returns it with its cookie token.
func (st *sessionStore) create(p app.Principal, method, idToken string, now time.Time) (*session, string, error) {
	id, err := uuid.NewV7()
	if err != nil {
		return nil, "", err
	}
	token := randomToken()
	s := &session{id: id.String(), method: method, principal: p, csrf: randomToken(), created: now, lastSeen: now, idToken: idToken}
	st.mu.Lock()
	st.byHash[sha256.Sum256([]byte(token))] = s
	st.mu.Unlock()
	return s, token, nil
}

// get returns the session of a cookie token, or nil.
func (st *sessionStore) get(token string) *session {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.byHash[sha256.Sum256([]byte(token))]
}

// remove drops a session that ended for why; it reports whether it was
// still there, so only one caller records its end.
func (st *sessionStore) remove(s *session, why string) bool {
	st.mu.Lock()
	defer st.mu.Unlock()
	for h, v := range st.byHash {
		if v == s {
			delete(st.byHash, h)
			if len(st.ended) >= maxEnded {
				clear(st.ended) // only forgets why; the session stays ended
			}
			st.ended[h] = why
			return true
		}
	}
	return false
}

// stale returns the sessions idle for longer than idle or older than
// maxAge at now, with why each ended.
func (st *sessionStore) stale(now time.Time, idle, maxAge time.Duration) map[*session]string {
	st.mu.Lock()
	defer st.mu.Unlock()
	out := map[*session]string{}
	for _, s := range st.byHash {
		if why := s.ended(now, idle, maxAge); why != "" {
			out[s] = why
		}
	}
	return out
}

// ended says why s is over at now, or "" while it is live.
func (s *session) ended(now time.Time, idle, maxAge time.Duration) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case now.Sub(s.created) >= maxAge:
		return domain.ConsoleEndExpired
	case now.Sub(s.lastSeen) >= idle:
		return domain.ConsoleEndIdle
	}
	return ""
}

func (s *session) touch(now time.Time) {
	s.mu.Lock()
	s.lastSeen = now
	s.mu.Unlock()
}

// Scopes lists the key's scopes, for the header.
func (s *session) Scopes() string {
	out := make([]string, len(s.principal.Scopes))
	for i, sc := range s.principal.Scopes {
		out[i] = string(sc)
	}
	return strings.Join(out, ", ")
}
