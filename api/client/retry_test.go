package client_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/distributeai/asyncspeech/api/client"
)

// reply is one scripted HTTP answer.
type reply struct {
	status     int
	retryAfter string
	body       string
}

var okCreate = reply{200, "", `{"id":"0f0e0d0c-0b0a-4900-8800-000000000001"}`}
var okResult = reply{200, "", `{"id":"0f0e0d0c-0b0a-4900-8800-000000000001","status":"QUEUED","created":1764000000,"model":"Chatterbox","results":[]}`}

// scripted answers each request with the next reply (the last one repeats)
// and records when each request arrived.
type scripted struct {
	*httptest.Server
	mu      sync.Mutex
	replies []reply
	arrived []time.Time
}

func newScripted(t *testing.T, replies ...reply) *scripted {
	t.Helper()
	s := &scripted{replies: replies}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		s.mu.Lock()
		n := len(s.arrived)
		s.arrived = append(s.arrived, time.Now())
		rep := s.replies[min(n, len(s.replies)-1)]
		s.mu.Unlock()
		if rep.retryAfter != "" {
			w.Header().Set("Retry-After", rep.retryAfter)
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(rep.status)
		io.WriteString(w, rep.body)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *scripted) times() []time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Time(nil), s.arrived...)
}

func newClient(t *testing.T, baseURL string, opts ...client.Option) *client.Client {
	t.Helper()
	c, err := client.New(append([]client.Option{
		client.WithAPIKey("test-key"),
		client.WithBaseURL(baseURL),
		client.WithRetryPolicy(client.RetryPolicy{MaxAttempts: 4, MinBackoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond}),
	}, opts...)...)
	if err != nil {
		t.Fatalf("client.New: %v", err)
	}
	return c
}

func callOp(ctx context.Context, c *client.Client, op string) error {
	if op == "create" {
		_, err := c.Create(ctx, client.CreateParams{Input: "hello"})
		return err
	}
	_, err := c.Result(ctx, "0f0e0d0c-0b0a-4900-8800-000000000001")
	return err
}

func TestRetriesByStatus(t *testing.T) {
	unavailable := reply{503, "", `{"message":"overloaded"}`}
	unavailableRA := reply{503, "0", `{"message":"overloaded"}`}
	tooMany := reply{429, "1", `{"message":"slow down"}`}
	tests := []struct {
		name    string
		op      string
		replies []reply
		// wantAttempts is how many requests the server must see.
		wantAttempts int
		wantStatus   int // 0: success
		// wantGap is the least time between the last two requests.
		wantGap time.Duration
	}{
		{"result retries 503, then 429 honouring Retry-After: 1", "result", []reply{unavailable, tooMany, okResult}, 3, 0, time.Second},
		{"create retries 503 and 429 with Retry-After", "create", []reply{unavailableRA, tooMany, okCreate}, 3, 0, time.Second},
		{"create does not retry 503 without Retry-After", "create", []reply{unavailable, okCreate}, 1, 503, 0},
		{"create does not retry 500", "create", []reply{{500, "1", `{"message":"boom"}`}, okCreate}, 1, 500, 0},
		{"create does not retry 502", "create", []reply{{502, "", "bad gateway"}, okCreate}, 1, 502, 0},
		{"result retries 500 and 502", "result", []reply{{500, "", `{"message":"boom"}`}, {502, "", ""}, okResult}, 3, 0, 0},
		{"result retries 408", "result", []reply{{408, "", `{"message":"request timeout"}`}, okResult}, 2, 0, 0},
		{"create does not retry 408", "create", []reply{{408, "", `{"message":"request timeout"}`}, okCreate}, 1, 408, 0},
		{"result permanent 400 is not retried", "result", []reply{{400, "", `{"message":"id: not a UUID"}`}, okResult}, 1, 400, 0},
		{"create permanent 400 is not retried", "create", []reply{{400, "", `{"message":"input: too short"}`}, okCreate}, 1, 400, 0},
		{"result 404 is not retried", "result", []reply{{404, "", `{"message":"task not found"}`}, okResult}, 1, 404, 0},
		{"result gives up after MaxAttempts", "result", []reply{unavailable}, 4, 503, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := newScripted(t, tc.replies...)
			c := newClient(t, srv.URL)
			err := callOp(context.Background(), c, tc.op)
			arrived := srv.times()
			if len(arrived) != tc.wantAttempts {
				t.Errorf("server saw %d requests, want %d", len(arrived), tc.wantAttempts)
			}
			if tc.wantStatus == 0 {
				if err != nil {
					t.Fatalf("got error %v, want success", err)
				}
			} else {
				var apiErr *client.APIError
				if !errors.As(err, &apiErr) {
					t.Fatalf("got error %v (%T), want *client.APIError", err, err)
				}
				if apiErr.StatusCode != tc.wantStatus || apiErr.Attempts != tc.wantAttempts {
					t.Errorf("got status %d after %d attempts, want %d after %d", apiErr.StatusCode, apiErr.Attempts, tc.wantStatus, tc.wantAttempts)
				}
				if apiErr.Message == "" {
					t.Errorf("got empty message in %v", apiErr)
				}
			}
			if tc.wantGap > 0 && len(arrived) >= 2 {
				gap := arrived[len(arrived)-1].Sub(arrived[len(arrived)-2])
				if gap < tc.wantGap-10*time.Millisecond || gap > tc.wantGap+2*time.Second {
					t.Errorf("got %v between the last two requests, want about %v (Retry-After)", gap, tc.wantGap)
				}
			}
		})
	}
}

func TestRetryAfterBeyondDeadlineFailsFast(t *testing.T) {
	srv := newScripted(t, reply{429, "30", `{"message":"slow down"}`}, okResult)
	c := newClient(t, srv.URL)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	start := time.Now()
	err := callOp(ctx, c, "result")
	var apiErr *client.APIError
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 429 || apiErr.RetryAfter != 30*time.Second {
		t.Fatalf("got %v, want the 429 *APIError with RetryAfter 30s", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("returned after %v, want at once: waiting 30 s cannot fit a 2 s deadline", d)
	}
}

// countingDialer fails the first failures dials with ECONNREFUSED, the way a
// server that is not listening answers, then dials for real.
type countingDialer struct {
	mu       sync.Mutex
	dials    int
	failures int
}

func (d *countingDialer) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	d.mu.Lock()
	d.dials++
	fail := d.dials <= d.failures
	d.mu.Unlock()
	if fail {
		return nil, &net.OpError{Op: "dial", Net: network, Err: &net.AddrError{Err: syscall.ECONNREFUSED.Error(), Addr: addr}}
	}
	var nd net.Dialer
	return nd.DialContext(ctx, network, addr)
}

func TestNetworkErrors(t *testing.T) {
	t.Run("dial refused: create is retried, it never reached the server", func(t *testing.T) {
		srv := newScripted(t, okCreate)
		d := &countingDialer{failures: 2}
		c := newClient(t, srv.URL, client.WithHTTPClient(&http.Client{Transport: &http.Transport{DialContext: d.dial}}))
		if err := callOp(context.Background(), c, "create"); err != nil {
			t.Fatalf("create: %v", err)
		}
		if d.dials != 3 || len(srv.times()) != 1 {
			t.Errorf("got %d dials and %d requests, want 3 dials and 1 request", d.dials, len(srv.times()))
		}
	})
	t.Run("dial refused on every attempt gives up after MaxAttempts", func(t *testing.T) {
		d := &countingDialer{failures: 100}
		c := newClient(t, "http://127.0.0.1:1", client.WithHTTPClient(&http.Client{Transport: &http.Transport{DialContext: d.dial}}))
		err := callOp(context.Background(), c, "create")
		var opErr *net.OpError
		if !errors.As(err, &opErr) {
			t.Fatalf("got %v, want a *net.OpError", err)
		}
		if d.dials != 4 {
			t.Errorf("got %d dials, want 4 (MaxAttempts)", d.dials)
		}
	})
	// A server that reads the request and drops the connection: the task
	// may exist, so create must not be repeated while result may.
	for _, tc := range []struct {
		op       string
		wantSeen int
	}{{"create", 1}, {"result", 4}} {
		t.Run(fmt.Sprintf("connection dropped after the request: %s sent %d times", tc.op, tc.wantSeen), func(t *testing.T) {
			var mu sync.Mutex
			seen := 0
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				io.Copy(io.Discard, r.Body)
				mu.Lock()
				seen++
				mu.Unlock()
				conn, _, err := w.(http.Hijacker).Hijack()
				if err == nil {
					conn.Close()
				}
			}))
			defer srv.Close()
			c := newClient(t, srv.URL)
			if err := callOp(context.Background(), c, tc.op); err == nil {
				t.Fatal("got nil error, want the dropped connection's")
			}
			mu.Lock()
			defer mu.Unlock()
			if seen != tc.wantSeen {
				t.Errorf("server saw %d requests, want %d", seen, tc.wantSeen)
			}
		})
	}
}
