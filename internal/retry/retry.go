// Package retry is the module's one policy for repeating a failed call:
// exponential backoff with full jitter, the server's Retry-After (seconds or
// an HTTP date), and which HTTP failures are worth another attempt for an
// idempotent call and for one that creates something. The client's API
// calls and downloads and the openai engine all run their attempts through
// Policy.Do; the worker's POSTPONED schedule uses Window, the same doubling
// without the jitter.
package retry

import (
	"context"
	"errors"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Policy bounds how a call is repeated. Zero fields are not defaulted here:
// each user states its own defaults, which differ (an interactive client
// gives up sooner than a worker).
type Policy struct {
	// MaxAttempts counts every attempt, the first included; 1 or less
	// disables retries.
	MaxAttempts int
	// MinBackoff and MaxBackoff bound the wait when the server gives no
	// Retry-After: after attempt n the wait is uniform in
	// [0, min(MaxBackoff, MinBackoff·2^(n-1))), full jitter, so that many
	// callers failing together do not retry together.
	MinBackoff, MaxBackoff time.Duration
	// MaxRetryAfter is the longest Retry-After worth waiting for; a longer
	// one ends the call at once (StopRetryAfterTooLong).
	MaxRetryAfter time.Duration
	// RandN returns a uniform value in [0, n); nil means math/rand/v2's
	// Int64N. Tests fix it to see the window.
	RandN func(n int64) int64
	// Sleep waits d or until ctx ends; nil means the package's Sleep.
	// Tests replace it to record the waits instead of sleeping.
	Sleep func(ctx context.Context, d time.Duration) error
}

// Result is what one attempt reports to Do.
type Result struct {
	// Err is nil when the attempt succeeded.
	Err error
	// Retry says the failure may pass if the call is repeated.
	Retry bool
	// RetryAfter is the server's requested wait, meaningful when
	// HasRetryAfter is set; it replaces the backoff.
	RetryAfter    time.Duration
	HasRetryAfter bool
}

// Stop says why Do returned.
type Stop int

// The ways Do ends.
const (
	// StopSucceeded: the last attempt returned no error.
	StopSucceeded Stop = iota
	// StopPermanent: the last attempt's failure is not worth repeating.
	StopPermanent
	// StopExhausted: MaxAttempts attempts failed.
	StopExhausted
	// StopRetryAfterTooLong: the server asked for a wait beyond MaxRetryAfter.
	StopRetryAfterTooLong
	// StopDeadline: the next wait would end after the context's deadline;
	// sleeping only to fail is worse than reporting the answer now.
	StopDeadline
	// StopInterrupted: the context ended during a wait (Outcome.WaitErr).
	StopInterrupted
)

// Outcome is how a Do call ended.
type Outcome struct {
	Stop Stop
	// Attempts is how many attempts ran.
	Attempts int
	// Last is the last attempt's report; Last.Err is its error.
	Last Result
	// Wait is the wait that was refused (StopRetryAfterTooLong,
	// StopDeadline) or interrupted (StopInterrupted).
	Wait time.Duration
	// WaitErr is the context's error when a wait was interrupted.
	WaitErr error
}

// Do runs try (with attempt = 1, 2, ...) until it succeeds, fails for good
// or the policy gives up, waiting between attempts. onRetry, if not nil, is
// called before each wait, for logs. try owns the context checks of its own
// request: a failure caused by the caller's context should come back with
// Retry false.
func (p Policy) Do(ctx context.Context, try func(attempt int) Result, onRetry func(attempt int, wait time.Duration, last Result)) Outcome {
	for attempt := 1; ; attempt++ {
		r := try(attempt)
		out := Outcome{Attempts: attempt, Last: r}
		switch {
		case r.Err == nil:
			out.Stop = StopSucceeded
			return out
		case !r.Retry:
			out.Stop = StopPermanent
			return out
		case attempt >= p.MaxAttempts:
			out.Stop = StopExhausted
			return out
		}
		wait := p.Backoff(attempt)
		if r.HasRetryAfter {
			wait = r.RetryAfter
			if wait > p.MaxRetryAfter {
				out.Stop, out.Wait = StopRetryAfterTooLong, wait
				return out
			}
		}
		if deadline, ok := ctx.Deadline(); ok && time.Until(deadline) < wait {
			out.Stop, out.Wait = StopDeadline, wait
			return out
		}
		if onRetry != nil {
			onRetry(attempt, wait, r)
		}
		sleep := p.Sleep
		if sleep == nil {
			sleep = Sleep
		}
		if err := sleep(ctx, wait); err != nil {
			out.Stop, out.Wait, out.WaitErr = StopInterrupted, wait, err
			return out
		}
	}
}

// Backoff returns the wait after the given failed attempt (1-based) when
// the server named none: full jitter over Window(MinBackoff, MaxBackoff,
// attempt-1).
func (p Policy) Backoff(attempt int) time.Duration {
	randN := p.RandN
	if randN == nil {
		randN = rand.Int64N
	}
	return Jitter(randN, p.MinBackoff, p.MaxBackoff, attempt-1)
}

// Window returns min(max, start·2^n): the exponential backoff window.
func Window(start, max time.Duration, n int) time.Duration {
	// Doubling step by step cannot overflow: it stops at max.
	w := start
	for i := 0; i < n && w < max; i++ {
		w *= 2
	}
	return min(w, max)
}

// Jitter returns a uniform random duration in [0, Window(start, max, n)),
// drawn with randN (uniform in [0, n)).
func Jitter(randN func(int64) int64, start, max time.Duration, n int) time.Duration {
	w := Window(start, max, n)
	if w <= 0 {
		return 0
	}
	return time.Duration(randN(int64(w)))
}

// maxRetryAfter clamps a delay-seconds value so a huge one cannot overflow
// time.Duration into a short (or negative) wait.
const maxRetryAfter = 365 * 24 * time.Hour

// ParseRetryAfter reads a Retry-After header: delay-seconds or an HTTP date
// (RFC 9110 §10.2.3). A date in the past means "now". ok is false when the
// header is absent or unreadable (a negative or fractional number, text).
func ParseRetryAfter(v string, now time.Time) (d time.Duration, ok bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs < 0 {
			return 0, false
		}
		secs = min(secs, int64(maxRetryAfter/time.Second))
		return time.Duration(secs) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(t.Sub(now), 0), true
	}
	return 0, false
}

// RetryableStatus decides whether an HTTP status is worth another attempt.
// An idempotent call (a read, a download, a synthesis that changes nothing
// upstream) is repeated on 408, 429 and every 5xx. A call that creates
// something is repeated only on 429 or 503 with Retry-After, the server's
// explicit statement that it turned the request away before acting on it;
// a bare 5xx may come from a proxy after the server acted, and a second
// create would queue (and bill) a second task.
func RetryableStatus(idempotent bool, status int, hasRetryAfter bool) bool {
	if idempotent {
		return status == http.StatusRequestTimeout || status == http.StatusTooManyRequests || status >= 500
	}
	return hasRetryAfter && (status == http.StatusTooManyRequests || status == http.StatusServiceUnavailable)
}

// RetryableError decides whether a transport error (no response, or a
// response whose body could not be read) is worth another attempt: always
// for an idempotent call, and for a create only when NeverSent proves the
// request did not reach the server.
func RetryableError(idempotent bool, err error) bool {
	return idempotent || NeverSent(err)
}

// NeverSent reports whether err proves the request never reached a server:
// the connection could not be opened (DNS failure, refused, unreachable,
// dial timeout). Go's transport itself replays a request whose bytes were
// never written on a reused connection, so this is the remaining safe case.
func NeverSent(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}

// Sleep waits d or until ctx is done, whichever comes first, and returns
// the context's error in the second case.
func Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
