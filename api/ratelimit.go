package api

import (
	"math"
	"net/http"
	"strconv"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/sessiond/sessiond/domain"
)

// maxLimiters bounds the limiters kept; past it the table starts afresh
// (a burst of new keys or addresses costs memory only up to here).
const maxLimiters = 10_000

// limiters hands out one token bucket per key (an admin key id, or a
// client address for failed authentications).
type limiters struct {
	mu    sync.Mutex
	every rate.Limit
	burst int
	m     map[string]*rate.Limiter
}

func newLimiters(perSecond float64, burst int) *limiters {
	if perSecond <= 0 {
		return nil // unlimited
	}
	return &limiters{every: rate.Limit(perSecond), burst: max(burst, 1), m: make(map[string]*rate.Limiter)}
}

func (l *limiters) get(key string) *rate.Limiter {
	l.mu.Lock()
	defer l.mu.Unlock()
	lim, ok := l.m[key]
	if !ok {
		if len(l.m) >= maxLimiters {
			clear(l.m)
		}
		lim = rate.NewLimiter(l.every, l.burst)
		l.m[key] = lim
	}
	return lim
}

// allow takes a token for key; when there is none it reports how long
// until there will be.
func (l *limiters) allow(key string, now time.Time) (bool, time.Duration) {
	if l == nil {
		return true, 0
	}
	r := l.get(key).ReserveN(now, 1)
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return false, d
	}
	return true, 0
}

// exhausted reports, without taking a token, whether key has none left.
func (l *limiters) exhausted(key string, now time.Time) (bool, time.Duration) {
	if l == nil {
		return false, 0
	}
	lim := l.get(key)
	if lim.TokensAt(now) >= 1 {
		return false, 0
	}
	r := lim.ReserveN(now, 1)
	d := r.DelayFrom(now)
	r.CancelAt(now)
	return true, d
}

// tooMany answers 429 RATE_LIMITED with Retry-After.
func (s *Server) tooMany(w http.ResponseWriter, r *http.Request, wait time.Duration, what string) {
	w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(max(wait, time.Second).Seconds()))))
	s.writeError(w, r, domain.Errorf(domain.CodeRateLimited, "too many %s; retry after %s", what, wait.Round(time.Millisecond)))
}
