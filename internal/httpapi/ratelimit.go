package httpapi

import (
	"math"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/sisimport/sisimport/internal/errs"
)

// errRateLimited is Canvas's answer to a client that goes too fast: a 403
// whose body says "Rate Limit Exceeded", so existing clients back off.
var errRateLimited = errs.New(errs.RateLimited, "rate_limited", "Rate Limit Exceeded")

// sweepEvery is how often the limiter drops the buckets that have refilled.
const sweepEvery = time.Minute

// limiter is a token bucket per API token (docs/api.md#error-responses): a bucket holds up to
// burst requests and refills at rate a second. Buckets live in this process:
// N replicas let a token make N times the rate.
type limiter struct {
	rate  float64
	burst float64
	now   func() time.Time

	mu        sync.Mutex
	buckets   map[int64]*bucket
	nextSweep time.Time
}

// bucket is one token's level as of at.
type bucket struct {
	level float64
	at    time.Time
}

// newLimiter makes a limiter; a rate of 0 or less means no limit (nil).
func newLimiter(rate float64, burst int, now func() time.Time) *limiter {
	if rate <= 0 {
		return nil
	}
	return &limiter{rate: rate, burst: float64(max(burst, 1)), now: now, buckets: map[int64]*bucket{}}
}

// take spends one request of token id's bucket. It reports whether the
// request may go on, the level left, and otherwise how long until it may.
func (l *limiter) take(id int64) (ok bool, left float64, wait time.Duration) {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	l.sweep(now)
	b := l.buckets[id]
	if b == nil {
		b = &bucket{level: l.burst, at: now}
		l.buckets[id] = b
	}
	b.level, b.at = l.levelAt(b, now), now
	if b.level < 1 {
		return false, b.level, time.Duration((1 - b.level) / l.rate * float64(time.Second))
	}
	b.level--
	return true, b.level, 0
}

// levelAt is the bucket's level at now, refilled since b.at (never
// backwards, should the clock step back).
func (l *limiter) levelAt(b *bucket, now time.Time) float64 {
	return min(l.burst, b.level+max(0, now.Sub(b.at).Seconds())*l.rate)
}

// sweep drops the buckets that have refilled: a full bucket is the same as
// none, so dropping it changes no answer, and memory stays proportional to
// the tokens seen within one refill period (or sweepEvery, if longer).
func (l *limiter) sweep(now time.Time) {
	if now.Before(l.nextSweep) {
		return
	}
	for id, b := range l.buckets {
		if l.levelAt(b, now) >= l.burst {
			delete(l.buckets, id)
		}
	}
	l.nextSweep = now.Add(sweepEvery)
}

// size is how many buckets the limiter holds.
func (l *limiter) size() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.buckets)
}

// LimitRate limits each token to perSecond requests a second on average,
// with bursts of burst; 0 turns the limit off. Call it before Handler.
func (s *Server) LimitRate(perSecond float64, burst int) {
	s.limiter = newLimiter(perSecond, burst, time.Now)
}

// rateLimit spends a request of the authenticated token's bucket (it runs
// after requireToken, so unauthenticated requests spend nothing). Every
// answer tells the level left in X-Rate-Limit-Remaining, as Canvas does; an
// empty bucket is a 403 with Retry-After.
func (s *Server) rateLimit(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.limiter == nil {
			next.ServeHTTP(w, r)
			return
		}
		ok, left, wait := s.limiter.take(tokenOf(r).ID)
		w.Header().Set("X-Rate-Limit-Remaining", strconv.FormatFloat(math.Floor(left*10)/10, 'f', 1, 64))
		if !ok {
			w.Header().Set("Retry-After", strconv.FormatInt(max(1, int64(math.Ceil(wait.Seconds()))), 10))
			s.writeError(w, r, errRateLimited)
			return
		}
		next.ServeHTTP(w, r)
	})
}
