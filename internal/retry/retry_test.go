package retry

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"testing"
	"time"
)

func TestJitterWindowGrowsToCap(t *testing.T) {
	// randN returning n-1 exposes the top of each window.
	top := func(n int64) int64 { return n - 1 }
	start, cap := 250*time.Millisecond, 5*time.Second
	want := []time.Duration{250, 500, 1000, 2000, 4000, 5000, 5000}
	for n, w := range want {
		got := Jitter(top, start, cap, n) + 1
		if got != w*time.Millisecond {
			t.Errorf("window %d: got %v, want %v", n, got, w*time.Millisecond)
		}
	}
	if got := Jitter(top, start, cap, 200); got+1 != cap {
		t.Errorf("window 200 (shift overflow): got %v, want %v", got+1, cap)
	}
	if got := Jitter(func(int64) int64 { return 0 }, start, cap, 3); got != 0 {
		t.Errorf("bottom of window: got %v, want 0 (full jitter)", got)
	}
}

func TestWindow(t *testing.T) {
	tests := []struct {
		name       string
		start, max time.Duration
		n          int
		want       time.Duration
	}{
		{"first", time.Second, time.Minute, 0, time.Second},
		{"doubles", time.Second, time.Minute, 3, 8 * time.Second},
		{"capped", time.Second, time.Minute, 10, time.Minute},
		{"no overflow", time.Second, time.Minute, 1000, time.Minute},
		{"max below start", time.Second, time.Millisecond, 0, time.Millisecond},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := Window(tc.start, tc.max, tc.n); got != tc.want {
				t.Errorf("Window(%v, %v, %d): got %v, want %v", tc.start, tc.max, tc.n, got, tc.want)
			}
		})
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 11, 24, 14, 0, 0, 0, time.UTC)
	tests := []struct {
		name   string
		in     string
		want   time.Duration
		wantOK bool
	}{
		{"seconds", "1", time.Second, true},
		{"zero", "0", 0, true},
		{"padded", " 3 ", 3 * time.Second, true},
		{"HTTP date", now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second, true},
		{"past date", now.Add(-time.Hour).Format(http.TimeFormat), 0, true},
		{"huge is clamped, not overflowed", "99999999999999999", 365 * 24 * time.Hour, true},
		{"absent", "", 0, false},
		{"negative", "-1", 0, false},
		{"garbage", "soon", 0, false},
		{"fraction", "1.5", 0, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := ParseRetryAfter(tc.in, now)
			if got != tc.want || ok != tc.wantOK {
				t.Errorf("ParseRetryAfter(%q) = %v, %v; want %v, %v", tc.in, got, ok, tc.want, tc.wantOK)
			}
		})
	}
}

func TestNeverSent(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"dial refused inside url.Error", &url.Error{Op: "Post", URL: "http://x", Err: &net.OpError{Op: "dial", Err: errors.New("connection refused")}}, true},
		{"wrapped by the client", fmt.Errorf("create: %w", &net.OpError{Op: "dial", Err: errors.New("no such host")}), true},
		{"read reset", &url.Error{Op: "Post", URL: "http://x", Err: &net.OpError{Op: "read", Err: errors.New("connection reset by peer")}}, false},
		{"EOF", &url.Error{Op: "Post", URL: "http://x", Err: errors.New("EOF")}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := NeverSent(tc.err); got != tc.want {
				t.Errorf("NeverSent(%v) = %v, want %v", tc.err, got, tc.want)
			}
		})
	}
}

func TestRetryableStatus(t *testing.T) {
	tests := []struct {
		name          string
		idempotent    bool
		status        int
		hasRetryAfter bool
		want          bool
	}{
		{"read 429", true, 429, false, true},
		{"read 408", true, 408, false, true},
		{"read 500", true, 500, false, true},
		{"read 502", true, 502, false, true},
		{"read 503 with Retry-After", true, 503, true, true},
		{"read 400", true, 400, false, false},
		{"read 404", true, 404, false, false},
		{"create 429 with Retry-After", false, 429, true, true},
		{"create 503 with Retry-After", false, 503, true, true},
		{"create 429 without Retry-After", false, 429, false, false},
		{"create 503 without Retry-After", false, 503, false, false},
		{"create 500 even with Retry-After", false, 500, true, false},
		{"create 502", false, 502, false, false},
		{"create 408", false, 408, false, false},
		{"create 400", false, 400, false, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := RetryableStatus(tc.idempotent, tc.status, tc.hasRetryAfter); got != tc.want {
				t.Errorf("RetryableStatus(%v, %d, %v): got %v, want %v", tc.idempotent, tc.status, tc.hasRetryAfter, got, tc.want)
			}
		})
	}
}

func TestRetryableError(t *testing.T) {
	dial := &net.OpError{Op: "dial", Err: errors.New("connection refused")}
	read := &net.OpError{Op: "read", Err: errors.New("connection reset by peer")}
	tests := []struct {
		name       string
		idempotent bool
		err        error
		want       bool
	}{
		{"read after reset", true, read, true},
		{"create after reset", false, read, false},
		{"create after refused dial", false, dial, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := RetryableError(tc.idempotent, tc.err); got != tc.want {
				t.Errorf("RetryableError(%v, %v): got %v, want %v", tc.idempotent, tc.err, got, tc.want)
			}
		})
	}
}

func TestDo(t *testing.T) {
	fail := errors.New("boom")
	transient := Result{Err: fail, Retry: true}
	tests := []struct {
		name         string
		results      []Result // per attempt; the last repeats
		deadline     time.Duration
		sleepErr     error
		wantStop     Stop
		wantAttempts int
		wantWaits    []time.Duration
	}{
		{"first try succeeds", []Result{{}}, 0, nil, StopSucceeded, 1, nil},
		{"transient then success, waits are the window middles", []Result{transient, transient, {}}, 0, nil, StopSucceeded, 3, []time.Duration{50 * time.Millisecond, 100 * time.Millisecond}},
		{"permanent at once", []Result{{Err: fail}}, 0, nil, StopPermanent, 1, nil},
		{"gives up after MaxAttempts", []Result{transient}, 0, nil, StopExhausted, 4, []time.Duration{50 * time.Millisecond, 100 * time.Millisecond, 200 * time.Millisecond}},
		{"Retry-After replaces the backoff", []Result{{Err: fail, Retry: true, RetryAfter: 2 * time.Second, HasRetryAfter: true}, {}}, 0, nil, StopSucceeded, 2, []time.Duration{2 * time.Second}},
		{"Retry-After 0 means now", []Result{{Err: fail, Retry: true, HasRetryAfter: true}, {}}, 0, nil, StopSucceeded, 2, []time.Duration{0}},
		{"Retry-After beyond MaxRetryAfter", []Result{{Err: fail, Retry: true, RetryAfter: time.Hour, HasRetryAfter: true}}, 0, nil, StopRetryAfterTooLong, 1, nil},
		{"wait past the deadline", []Result{{Err: fail, Retry: true, RetryAfter: 30 * time.Second, HasRetryAfter: true}}, time.Second, nil, StopDeadline, 1, nil},
		{"context ends during the wait", []Result{transient}, 0, context.Canceled, StopInterrupted, 1, []time.Duration{50 * time.Millisecond}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var waits, logged []time.Duration
			p := Policy{
				MaxAttempts: 4, MinBackoff: 100 * time.Millisecond, MaxBackoff: time.Second, MaxRetryAfter: time.Minute,
				RandN: func(n int64) int64 { return n / 2 }, // the middle of each window
				Sleep: func(ctx context.Context, d time.Duration) error {
					waits = append(waits, d)
					return tc.sleepErr
				},
			}
			ctx := context.Background()
			if tc.deadline > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tc.deadline)
				defer cancel()
			}
			attempts := 0
			out := p.Do(ctx, func(attempt int) Result {
				attempts++
				if attempt != attempts {
					t.Errorf("got attempt %d, want %d", attempt, attempts)
				}
				return tc.results[min(attempt, len(tc.results))-1]
			}, func(_ int, wait time.Duration, _ Result) { logged = append(logged, wait) })
			if out.Stop != tc.wantStop || out.Attempts != tc.wantAttempts || attempts != tc.wantAttempts {
				t.Errorf("got stop %d after %d attempts (%d tries), want stop %d after %d", out.Stop, out.Attempts, attempts, tc.wantStop, tc.wantAttempts)
			}
			if fmt.Sprint(waits) != fmt.Sprint(tc.wantWaits) || fmt.Sprint(logged) != fmt.Sprint(tc.wantWaits) {
				t.Errorf("got waits %v (logged %v), want %v", waits, logged, tc.wantWaits)
			}
			if (out.Stop == StopSucceeded) != (out.Last.Err == nil) {
				t.Errorf("got stop %d with last error %v", out.Stop, out.Last.Err)
			}
			if tc.wantStop == StopInterrupted && !errors.Is(out.WaitErr, tc.sleepErr) {
				t.Errorf("got WaitErr %v, want %v", out.WaitErr, tc.sleepErr)
			}
		})
	}
}

func TestSleep(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := Sleep(ctx, time.Hour); !errors.Is(err, context.Canceled) {
		t.Errorf("Sleep on a cancelled context: got %v, want context.Canceled", err)
	}
	if err := Sleep(context.Background(), 0); err != nil {
		t.Errorf("Sleep(0): got %v, want nil", err)
	}
}
