package server

import (
	"container/list"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/distributeai/asyncspeech/api/apierr"
	"github.com/distributeai/asyncspeech/api/server/auth"
)

// maxBuckets bounds the limiter's memory. In open development mode any key
// is accepted, so keys are not a bounded set: past the cap, the bucket used
// least recently is dropped (its key starts again with a full bucket, which
// only an attacker rotating through more than maxBuckets keys notices).
const maxBuckets = 10000

// limiter is a token bucket per owner: rate tokens a second, at most burst.
// Buckets sit in a list ordered by last use, so finding the one to evict is
// O(1) and a new key never walks the map under the lock.
type limiter struct {
	rate  float64
	burst float64
	now   func() time.Time
	cap   int

	mu      sync.Mutex
	buckets map[string]*list.Element // value: *bucket
	lru     list.List                // front: used most recently
}

type bucket struct {
	owner  string
	tokens float64
	last   time.Time
}

func newLimiter(rate float64, burst int, now func() time.Time) *limiter {
	if burst < 1 {
		burst = max(1, int(math.Ceil(rate)))
	}
	return &limiter{rate: rate, burst: float64(burst), now: now, cap: maxBuckets, buckets: map[string]*list.Element{}}
}

// allow takes a token for owner, or says how long until one is available.
func (l *limiter) allow(owner string) (bool, time.Duration) {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	var b *bucket
	if el, ok := l.buckets[owner]; ok {
		l.lru.MoveToFront(el)
		b = el.Value.(*bucket)
	} else {
		if l.lru.Len() >= l.cap {
			oldest := l.lru.Back()
			delete(l.buckets, oldest.Value.(*bucket).owner)
			l.lru.Remove(oldest)
		}
		b = &bucket{owner: owner, tokens: l.burst, last: now}
		l.buckets[owner] = l.lru.PushFront(b)
	}
	if el := now.Sub(b.last).Seconds(); el > 0 {
		b.tokens = math.Min(l.burst, b.tokens+el*l.rate)
		b.last = now
	}
	if b.tokens >= 1 {
		b.tokens--
		return true, 0
	}
	wait := time.Duration((1 - b.tokens) / l.rate * float64(time.Second))
	return false, wait
}

// size is the number of buckets held.
func (l *limiter) size() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.buckets)
}

// rateLimit answers 429 with Retry-After (whole seconds, at least 1) when
// the request's owner has no token left.
func rateLimit(l *limiter, log *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		owner, _ := auth.Owner(r.Context())
		ok, wait := l.allow(owner)
		if !ok {
			secs := max(1, int(math.Ceil(wait.Seconds())))
			w.Header().Set("Retry-After", strconv.Itoa(secs))
			writeError(w, r, log, &Error{Code: apierr.CodeRateLimited, Message: fmt.Sprintf("rate limit of %g requests per second exceeded; retry in %d s", l.rate, secs)})
			return
		}
		next.ServeHTTP(w, r)
	})
}
