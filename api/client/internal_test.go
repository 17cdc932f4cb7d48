package client

import (
	"errors"
	"fmt"
	"net"
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
		got := jitter(top, start, cap, n) + 1
		if got != w*time.Millisecond {
			t.Errorf("window %d: got %v, want %v", n, got, w*time.Millisecond)
		}
	}
	if got := jitter(top, start, cap, 200); got+1 != cap {
		t.Errorf("window 200 (shift overflow): got %v, want %v", got+1, cap)
	}
	if got := jitter(func(int64) int64 { return 0 }, start, cap, 3); got != 0 {
		t.Errorf("bottom of window: got %v, want 0 (full jitter)", got)
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
		{"HTTP date", now.Add(90 * time.Second).Format(httpTimeFormat), 90 * time.Second, true},
		{"past date", now.Add(-time.Hour).Format(httpTimeFormat), 0, true},
		{"absent", "", 0, false},
		{"negative", "-1", 0, false},
		{"garbage", "soon", 0, false},
		{"fraction", "1.5", 0, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := parseRetryAfter(tc.in, now)
			if got != tc.want || ok != tc.wantOK {
				t.Errorf("parseRetryAfter(%q) = %v, %v; want %v, %v", tc.in, got, ok, tc.want, tc.wantOK)
			}
		})
	}
}

const httpTimeFormat = "Mon, 02 Jan 2006 15:04:05 GMT"

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
			if got := neverSent(tc.err); got != tc.want {
				t.Errorf("neverSent(%v) = %v, want %v", tc.err, got, tc.want)
			}
		})
	}
}

func TestErrorMessage(t *testing.T) {
	tests := []struct{ name, body, want string }{
		{"contract body", `{"message":"task not found"}`, "task not found"},
		{"plain text", "  upstream timeout\n", "upstream timeout"},
		{"empty", "", ""},
		{"binary", "\xff\xfe", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := errorMessage([]byte(tc.body)); got != tc.want {
				t.Errorf("errorMessage(%q) = %q, want %q", tc.body, got, tc.want)
			}
		})
	}
	long := make([]byte, 1000)
	for i := range long {
		long[i] = 'a'
	}
	if got := errorMessage(long); len(got) > 210 {
		t.Errorf("errorMessage of 1000 bytes gave %d bytes, want about 200", len(got))
	}
}
