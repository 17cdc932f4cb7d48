package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// RetryPolicy bounds how a Client repeats a failed API call.
type RetryPolicy struct {
	// MaxAttempts counts every request of one call, the first included;
	// 1 disables retries. Default 4.
	MaxAttempts int
	// MinBackoff and MaxBackoff bound the exponential backoff with full
	// jitter used when the server gives no Retry-After: attempt n waits a
	// uniform random time in [0, min(MaxBackoff, MinBackoff·2^(n-1))).
	// Defaults 250 ms and 5 s.
	MinBackoff time.Duration
	MaxBackoff time.Duration
	// MaxRetryAfter is the longest Retry-After the client waits for; a
	// longer one (or one beyond the context deadline) ends the call with
	// the *APIError at once. Default 60 s.
	MaxRetryAfter time.Duration
}

// DefaultRetryPolicy returns the policy New uses.
func DefaultRetryPolicy() RetryPolicy { return RetryPolicy{}.withDefaults() }

func (p RetryPolicy) withDefaults() RetryPolicy {
	if p.MaxAttempts == 0 {
		p.MaxAttempts = 4
	}
	if p.MinBackoff == 0 {
		p.MinBackoff = 250 * time.Millisecond
	}
	if p.MaxBackoff == 0 {
		p.MaxBackoff = 5 * time.Second
	}
	if p.MaxBackoff < p.MinBackoff {
		p.MaxBackoff = p.MinBackoff
	}
	if p.MaxRetryAfter == 0 {
		p.MaxRetryAfter = 60 * time.Second
	}
	return p
}

// operation describes one API call for the retry loop.
type operation struct {
	name string // "create" or "result"
	path string // the path in openapi.json
	// idempotent calls are retried on any network error, 429 and 5xx;
	// the others only where the server provably did nothing.
	idempotent bool
}

var (
	opCreate = operation{name: "create", path: "/async/speech/create"}
	opResult = operation{name: "result", path: "/async/speech/result", idempotent: true}
)

// call sends one API request under the retry policy and returns the last
// response with its body when the status is 2xx. Any other outcome is an
// error: *APIError, *ContractError, a transport error, or the context's.
// taskID, empty for create, names the task in errors: each error says once
// what failed, so callers return it without a prefix of their own.
func (c *Client) call(ctx context.Context, op operation, taskID string, send func(context.Context) (*http.Response, error)) (*http.Response, []byte, error) {
	label := subject(op.name, taskID, "")
	for attempt := 1; ; attempt++ {
		resp, err := send(ctx)
		var body []byte
		if err == nil {
			body, err = readBody(resp.Body, maxAPIBody)
			resp.Body.Close()
			if err != nil {
				// Headers arrived, so the server saw the request: for
				// create this is as unsafe to repeat as a timeout.
				err = fmt.Errorf("read response: %w", err)
				resp = nil
			}
		}
		if err != nil {
			if ctx.Err() != nil {
				return nil, nil, fmt.Errorf("%s: %w", label, ctx.Err())
			}
			err = fmt.Errorf("%s: %w", label, err)
			if !(op.idempotent || neverSent(err)) || attempt >= c.retry.MaxAttempts {
				return nil, nil, err
			}
			wait := c.backoff(attempt)
			c.log.InfoContext(ctx, "retrying after network error", "op", op.name, "attempt", attempt, "wait", wait, "err", err)
			if err := sleep(ctx, wait); err != nil {
				return nil, nil, fmt.Errorf("%s: %w", label, err)
			}
			continue
		}
		if c.validator != nil {
			if err := c.validator.check(ctx, op, taskID, resp, body); err != nil {
				return nil, nil, err
			}
		}
		if resp.StatusCode >= 200 && resp.StatusCode < 300 {
			return resp, body, nil
		}
		retryAfter, hasRetryAfter := parseRetryAfter(resp.Header.Get("Retry-After"), time.Now())
		apiErr := &APIError{
			Operation:  op.name,
			TaskID:     taskID,
			StatusCode: resp.StatusCode,
			Message:    errorMessage(body),
			RetryAfter: retryAfter,
			Attempts:   attempt,
		}
		if !retryableStatus(op, resp.StatusCode, hasRetryAfter) || attempt >= c.retry.MaxAttempts {
			return nil, nil, apiErr
		}
		wait := c.backoff(attempt)
		if hasRetryAfter {
			wait = retryAfter
			if wait > c.retry.MaxRetryAfter {
				return nil, nil, apiErr
			}
		}
		if deadline, ok := ctx.Deadline(); ok && time.Until(deadline) < wait {
			// Sleeping past the deadline only to fail is worse than
			// reporting the server's answer now.
			return nil, nil, apiErr
		}
		c.log.InfoContext(ctx, "retrying after HTTP error", "op", op.name, "attempt", attempt, "status", resp.StatusCode, "wait", wait)
		if err := sleep(ctx, wait); err != nil {
			return nil, nil, fmt.Errorf("%s: %w (last answer: %s)", label, err, apiErr.detail())
		}
	}
}

// retryableStatus decides whether an HTTP status is worth another attempt.
// A read (result) is repeated on 429 and every 5xx. A create is repeated
// only on 429 or 503 with Retry-After, the server's explicit statement that
// it turned the request away before acting on it; a bare 5xx may come from
// a proxy after the server queued the task, and a second create would queue
// (and bill) a second one.
func retryableStatus(op operation, status int, hasRetryAfter bool) bool {
	if op.idempotent {
		return status == http.StatusTooManyRequests || status >= 500
	}
	return hasRetryAfter && (status == http.StatusTooManyRequests || status == http.StatusServiceUnavailable)
}

// neverSent reports whether err proves the request never reached a server:
// the connection could not be opened (DNS failure, refused, unreachable,
// dial timeout). Go's transport itself replays a request whose bytes were
// never written on a reused connection, so this is the remaining safe case.
func neverSent(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}

// backoff returns the wait before attempt+1: full jitter over an
// exponentially growing window.
func (c *Client) backoff(attempt int) time.Duration {
	return jitter(c.randN, c.retry.MinBackoff, c.retry.MaxBackoff, attempt-1)
}

// jitter returns a uniform random duration in [0, min(max, start·2^n)).
func jitter(randN func(int64) int64, start, max time.Duration, n int) time.Duration {
	// Doubling step by step cannot overflow: it stops at max.
	window := start
	for i := 0; i < n && window < max; i++ {
		window *= 2
	}
	window = min(window, max)
	if window <= 0 {
		return 0
	}
	return time.Duration(randN(int64(window)))
}

// parseRetryAfter reads a Retry-After header: delay-seconds or an HTTP date.
// A date in the past means "now". ok is false when the header is absent or
// unreadable.
func parseRetryAfter(v string, now time.Time) (d time.Duration, ok bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs < 0 {
			return 0, false
		}
		if secs > int64(365*24*time.Hour/time.Second) {
			secs = int64(365 * 24 * time.Hour / time.Second)
		}
		return time.Duration(secs) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(t.Sub(now), 0), true
	}
	return 0, false
}

// readBody reads at most limit bytes and fails if there is more.
func readBody(r io.Reader, limit int64) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("body larger than %d bytes", limit)
	}
	return data, nil
}

// errorMessage extracts the contract's {"message": ...} from an error body,
// falling back to a short excerpt of whatever the server sent.
func errorMessage(body []byte) string {
	var m struct {
		Message string `json:"message"`
	}
	if json.Unmarshal(body, &m) == nil && m.Message != "" {
		return m.Message
	}
	s := string(bytes.TrimSpace(body))
	if !utf8.ValidString(s) {
		return ""
	}
	if len(s) > 200 {
		s = s[:200]
		for !utf8.ValidString(s) {
			s = s[:len(s)-1]
		}
		s += "…"
	}
	return s
}
