package client

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"
	"unicode/utf8"

	"github.com/distributeai/asyncspeech"
	"github.com/distributeai/asyncspeech/internal/retry"
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
	id   string // the operation id in openapi.json
	// idempotent calls are retried on any network error, 429 and 5xx;
	// the others only where the server provably did nothing.
	idempotent bool
}

var (
	opCreate = operation{name: "create", id: asyncspeech.OperationCreate}
	opResult = operation{name: "result", id: asyncspeech.OperationResult, idempotent: true}
)

// spec returns the operation's method and path as the embedded spec has them.
func (o operation) spec() asyncspeech.Operation { return asyncspeech.MustOperation(o.id) }

// policy is the client's RetryPolicy in the module's one retry loop.
func (c *Client) policy() retry.Policy {
	return retry.Policy{
		MaxAttempts:   c.retry.MaxAttempts,
		MinBackoff:    c.retry.MinBackoff,
		MaxBackoff:    c.retry.MaxBackoff,
		MaxRetryAfter: c.retry.MaxRetryAfter,
		RandN:         c.randN,
	}
}

// call sends one API request under the retry policy and returns the last
// response with its body when the status is 2xx. Any other outcome is an
// error: *APIError, *ContractError, a transport error, or the context's.
// taskID, empty for create, names the task in errors: each error says once
// what failed, so callers return it without a prefix of their own.
func (c *Client) call(ctx context.Context, op operation, taskID string, send func(context.Context) (*http.Response, error)) (*http.Response, []byte, error) {
	label := subject(op.name, taskID, "")
	var (
		okResp *http.Response
		okBody []byte
		apiErr *APIError // the last HTTP answer, for the interrupted-wait error
	)
	out := c.policy().Do(ctx, func(attempt int) retry.Result {
		apiErr = nil
		resp, err := send(ctx)
		var body []byte
		if err == nil {
			body, err = readBody(resp.Body, maxAPIBody)
			resp.Body.Close()
			if err != nil {
				// Headers arrived, so the server saw the request: for
				// create this is as unsafe to repeat as a timeout.
				err = fmt.Errorf("read response: %w", err)
			}
		}
		if err != nil {
			if ctx.Err() != nil {
				return retry.Result{Err: fmt.Errorf("%s: %w", label, ctx.Err())}
			}
			return retry.Result{Err: fmt.Errorf("%s: %w", label, err), Retry: retry.RetryableError(op.idempotent, err)}
		}
		if c.validator != nil {
			if err := c.validator.check(ctx, op, taskID, resp, body); err != nil {
				return retry.Result{Err: err}
			}
		}
		if resp.StatusCode >= 200 && resp.StatusCode < 300 {
			okResp, okBody = resp, body
			return retry.Result{}
		}
		retryAfter, hasRetryAfter := retry.ParseRetryAfter(resp.Header.Get("Retry-After"), time.Now())
		apiErr = &APIError{
			Operation:  op.name,
			TaskID:     taskID,
			StatusCode: resp.StatusCode,
			Message:    errorMessage(body),
			RetryAfter: retryAfter,
			Attempts:   attempt,
		}
		return retry.Result{
			Err:           apiErr,
			Retry:         retry.RetryableStatus(op.idempotent, resp.StatusCode, hasRetryAfter),
			RetryAfter:    retryAfter,
			HasRetryAfter: hasRetryAfter,
		}
	}, func(attempt int, wait time.Duration, last retry.Result) {
		if apiErr != nil {
			c.log.InfoContext(ctx, "retrying after HTTP error", "op", op.name, "attempt", attempt, "status", apiErr.StatusCode, "wait", wait)
		} else {
			c.log.InfoContext(ctx, "retrying after network error", "op", op.name, "attempt", attempt, "wait", wait, "err", last.Err)
		}
	})
	switch {
	case out.Stop == retry.StopSucceeded:
		return okResp, okBody, nil
	case out.Stop == retry.StopInterrupted && apiErr != nil:
		return nil, nil, fmt.Errorf("%s: %w (last answer: %s)", label, out.WaitErr, apiErr.detail())
	case out.Stop == retry.StopInterrupted:
		return nil, nil, fmt.Errorf("%s: %w", label, out.WaitErr)
	}
	return nil, nil, out.Last.Err
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
