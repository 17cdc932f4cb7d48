package openai

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/distributeai/asyncspeech/api/engine"
	"github.com/distributeai/asyncspeech/internal/retry"
)

func wav(ms int) []byte {
	return engine.EncodeWAV(8000, make([]int16, 8*ms))
}

// newEngine builds an engine against base whose waits are recorded instead of slept.
func newEngine(t *testing.T, opts Options) (*Engine, *[]time.Duration) {
	t.Helper()
	if opts.Backoff == 0 {
		opts.Backoff = 100 * time.Millisecond
	}
	e, err := New(opts)
	if err != nil {
		t.Fatalf("New(%+v): %v", opts, err)
	}
	var mu sync.Mutex
	waits := &[]time.Duration{}
	e.retry.Sleep = func(ctx context.Context, d time.Duration) error {
		mu.Lock()
		*waits = append(*waits, d)
		mu.Unlock()
		return ctx.Err()
	}
	return e, waits
}

var req = engine.Request{Text: "Hello there.", Voice: "nora", Temperature: 0.8, Exaggeration: 0.25, CfgWeight: 0.5}

func TestAudioBytes(t *testing.T) {
	var got struct {
		method, path, auth string
		body               map[string]any
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got.method, got.path, got.auth = r.Method, r.URL.Path, r.Header.Get("Authorization")
		got.body = nil // a fresh map per request, not merged into the last one
		if err := json.NewDecoder(r.Body).Decode(&got.body); err != nil {
			t.Errorf("server: decoding body: %v", err)
		}
		w.Header().Set("Content-Type", "audio/wav")
		w.Write(wav(250))
	}))
	defer srv.Close()

	tests := []struct {
		name     string
		opts     Options
		text     string // default req.Text
		wantBody map[string]any
		wantAuth string
	}{
		{
			name:     "prosody and voice mapping",
			opts:     Options{BaseURL: srv.URL, APIKey: "sk-1", Model: "chatterbox", Voices: map[string]string{"nora": "female_1"}},
			wantBody: map[string]any{"model": "chatterbox", "input": "Hello there.", "voice": "female_1", "response_format": "wav", "temperature": 0.8, "exaggeration": 0.25, "cfg_weight": 0.5},
			wantAuth: "Bearer sk-1",
		},
		{
			name:     "raw key, as the vendor's examples send it",
			opts:     Options{BaseURL: srv.URL, APIKey: "sk-2", RawKey: true},
			wantBody: map[string]any{"model": DefaultModel, "input": "Hello there.", "voice": "nora", "response_format": "wav", "temperature": 0.8, "exaggeration": 0.25, "cfg_weight": 0.5},
			wantAuth: "sk-2",
		},
		{
			name:     "base ending in /v1, no key, prosody omitted",
			opts:     Options{BaseURL: srv.URL + "/v1/", OmitProsody: true},
			wantBody: map[string]any{"model": DefaultModel, "input": "Hello there.", "voice": "nora", "response_format": "wav"},
		},
		{
			name:     "control characters sanitised like every engine's",
			opts:     Options{BaseURL: srv.URL, OmitProsody: true},
			text:     "\x0199999B Hello\x00there.",
			wantBody: map[string]any{"model": DefaultModel, "input": " 99999B Hello there.", "voice": "nora", "response_format": "wav"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e, _ := newEngine(t, tc.opts)
			r := req
			if tc.text != "" {
				r.Text = tc.text
			}
			a, err := e.Synthesize(context.Background(), r)
			if err != nil {
				t.Fatalf("Synthesize: %v", err)
			}
			if got.method != http.MethodPost || got.path != "/v1/audio/speech" {
				t.Errorf("got %s %s, want POST /v1/audio/speech", got.method, got.path)
			}
			if got.auth != tc.wantAuth {
				t.Errorf("got Authorization %q, want %q", got.auth, tc.wantAuth)
			}
			if fmt.Sprint(got.body) != fmt.Sprint(tc.wantBody) {
				t.Errorf("got body %v, want %v", got.body, tc.wantBody)
			}
			w, err := engine.ParseWAV(a.Data)
			if a.ContentType != "audio/wav" || err != nil || w.Duration() != 250*time.Millisecond {
				t.Errorf("got %s %+v (%v), want a 250ms audio/wav", a.ContentType, w, err)
			}
		})
	}
}

func TestContentTypes(t *testing.T) {
	tests := []struct {
		name, contentType string
		body              []byte
		wantType          string
		wantErr           bool
	}{
		{"wav sniffed from octet-stream", "application/octet-stream", wav(10), "audio/wav", false},
		{"x-wav normalised", "audio/x-wav", wav(10), "audio/wav", false},
		{"mp3 passed through", "audio/mpeg", []byte("ID3\x04fake mp3"), "audio/mpeg", false},
		{"html is not audio", "text/html; charset=utf-8", []byte("<html>login</html>"), "", true},
		{"empty body", "audio/wav", nil, "", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", tc.contentType)
				w.Write(tc.body)
			}))
			defer srv.Close()
			e, _ := newEngine(t, Options{BaseURL: srv.URL})
			a, err := e.Synthesize(context.Background(), req)
			if tc.wantErr {
				if err == nil || errors.Is(err, engine.ErrUnavailable) {
					t.Errorf("got %v, want a permanent error", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Synthesize: %v", err)
			}
			if a.ContentType != tc.wantType || string(a.Data) != string(tc.body) {
				t.Errorf("got %s (%d bytes), want %s (%d bytes)", a.ContentType, len(a.Data), tc.wantType, len(tc.body))
			}
		})
	}
}

func TestJSONURLList(t *testing.T) {
	// The files live on a second host: the key must not travel there.
	var fileAuth atomic.Value
	files := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fileAuth.Store(r.Header.Get("Authorization"))
		switch r.URL.Path {
		case "/a.wav":
			w.Write(wav(100))
		case "/b.wav":
			w.Write(wav(300))
		case "/mono16k.wav":
			w.Write(engine.EncodeWAV(16000, make([]int16, 160)))
		default:
			http.NotFound(w, r)
		}
	}))
	defer files.Close()
	var list string
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/local.wav" {
			if got := r.Header.Get("Authorization"); got != "Bearer k" {
				t.Errorf("same-host download: got Authorization %q, want the key", got)
			}
			w.Write(wav(50))
			return
		}
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, strings.ReplaceAll(list, "FILES", files.URL))
	}))
	defer api.Close()

	tests := []struct {
		name      string
		list      string
		want      time.Duration
		wantErr   bool
		transient bool
	}{
		{"one url", `[{"url":"FILES/a.wav"}]`, 100 * time.Millisecond, false, false},
		{"parts joined", `[{"url":"FILES/a.wav"},{"url":"FILES/b.wav"}]`, 400 * time.Millisecond, false, false},
		{"relative url on the api host", `[{"url":"/local.wav"}]`, 50 * time.Millisecond, false, false},
		{"empty list", `[]`, 0, true, false},
		{"not a list", `{"error":"nope"}`, 0, true, false},
		{"expired link is permanent", `[{"url":"FILES/gone.wav"}]`, 0, true, false},
		{"non-http url", `[{"url":"file:///etc/passwd"}]`, 0, true, false},
		{"mismatched formats", `[{"url":"FILES/a.wav"},{"url":"FILES/mono16k.wav"}]`, 0, true, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			list = tc.list
			fileAuth.Store("")
			e, _ := newEngine(t, Options{BaseURL: api.URL, APIKey: "k"})
			a, err := e.Synthesize(context.Background(), req)
			if tc.wantErr {
				if err == nil || errors.Is(err, engine.ErrUnavailable) != tc.transient {
					t.Errorf("got %v, want an error with transient=%v", err, tc.transient)
				}
				return
			}
			if err != nil {
				t.Fatalf("Synthesize: %v", err)
			}
			w, err := engine.ParseWAV(a.Data)
			if err != nil || w.Duration() != tc.want {
				t.Errorf("got %+v (%v), want a WAV of %v", w, err, tc.want)
			}
			if got := fileAuth.Load(); got != "" {
				t.Errorf("download from another host got Authorization %q, want none", got)
			}
		})
	}
}

func TestRetries(t *testing.T) {
	type step struct {
		status     int
		retryAfter string
	}
	tests := []struct {
		name         string
		steps        []step // answers in order; the last repeats
		maxAttempts  int
		wantAttempts int
		wantWaits    []time.Duration // exact waits; nil = only count them
		wantWaitsN   int
		wantErr      bool
		transient    bool
	}{
		{name: "503 then success", steps: []step{{503, ""}, {503, ""}, {200, ""}}, wantAttempts: 3, wantWaitsN: 2},
		{name: "429 honours Retry-After seconds", steps: []step{{429, "2"}, {200, ""}}, wantAttempts: 2, wantWaits: []time.Duration{2 * time.Second}},
		{name: "persistent 500 is unavailable", steps: []step{{500, ""}}, maxAttempts: 4, wantAttempts: 4, wantWaitsN: 3, wantErr: true, transient: true},
		{name: "Retry-After beyond MaxBackoff gives up at once", steps: []step{{503, "3600"}}, wantAttempts: 1, wantWaitsN: 0, wantErr: true, transient: true},
		{name: "400 is permanent, not retried", steps: []step{{400, ""}}, wantAttempts: 1, wantWaitsN: 0, wantErr: true},
		{name: "401 is permanent", steps: []step{{401, ""}}, wantAttempts: 1, wantWaitsN: 0, wantErr: true},
		{name: "408 is retried", steps: []step{{408, ""}, {200, ""}}, wantAttempts: 2, wantWaitsN: 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var n atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				i := int(n.Add(1)) - 1
				s := tc.steps[min(i, len(tc.steps)-1)]
				if s.retryAfter != "" {
					w.Header().Set("Retry-After", s.retryAfter)
				}
				if s.status != 200 {
					http.Error(w, `{"error":"status `+fmt.Sprint(s.status)+`"}`, s.status)
					return
				}
				w.Write(wav(10))
			}))
			defer srv.Close()
			e, waits := newEngine(t, Options{BaseURL: srv.URL, MaxAttempts: tc.maxAttempts, MaxBackoff: 10 * time.Second})
			_, err := e.Synthesize(context.Background(), req)
			if got := int(n.Load()); got != tc.wantAttempts {
				t.Errorf("got %d attempts, want %d", got, tc.wantAttempts)
			}
			if tc.wantWaits != nil {
				if fmt.Sprint(*waits) != fmt.Sprint(tc.wantWaits) {
					t.Errorf("got waits %v, want %v", *waits, tc.wantWaits)
				}
			} else if len(*waits) != tc.wantWaitsN {
				t.Errorf("got %d waits %v, want %d", len(*waits), *waits, tc.wantWaitsN)
			}
			if !tc.wantErr {
				if err != nil {
					t.Errorf("got %v, want success", err)
				}
				return
			}
			if err == nil {
				t.Fatal("got success, want an error")
			}
			if got := errors.Is(err, engine.ErrUnavailable); got != tc.transient {
				t.Errorf("got transient=%v (%v), want %v", got, err, tc.transient)
			}
		})
	}
}

func TestBackoffGrowsAndIsCapped(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusBadGateway)
	}))
	defer srv.Close()
	// Full jitter draws each wait from [0, window); the window doubles up
	// to the cap. Drawing the top of each window shows the window itself.
	bases := []time.Duration{100, 200, 400, 400, 400}
	for _, tc := range []struct {
		name  string
		randN func(int64) int64 // nil: the real random source
	}{
		{"random draws", nil},
		{"top of each window", func(n int64) int64 { return n - 1 }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e, waits := newEngine(t, Options{BaseURL: srv.URL, MaxAttempts: 6, Backoff: 100 * time.Millisecond, MaxBackoff: 400 * time.Millisecond})
			e.retry.RandN = tc.randN
			if _, err := e.Synthesize(context.Background(), req); !errors.Is(err, engine.ErrUnavailable) {
				t.Fatalf("got %v, want ErrUnavailable", err)
			}
			if len(*waits) != len(bases) {
				t.Fatalf("got waits %v, want %d of them", *waits, len(bases))
			}
			for i, b := range bases {
				b *= time.Millisecond
				w := (*waits)[i]
				if w < 0 || w >= b {
					t.Errorf("wait %d: got %v, want within [0, %v)", i, w, b)
				}
				if tc.randN != nil && w != b-1 {
					t.Errorf("wait %d: got %v, want %v (top of the window)", i, w, b-1)
				}
			}
		})
	}
}

func TestNetworkErrors(t *testing.T) {
	t.Run("connection refused", func(t *testing.T) {
		srv := httptest.NewServer(http.NotFoundHandler())
		base := srv.URL
		srv.Close() // nothing listens there any more
		e, waits := newEngine(t, Options{BaseURL: base, MaxAttempts: 2})
		_, err := e.Synthesize(context.Background(), req)
		if !errors.Is(err, engine.ErrUnavailable) || len(*waits) != 1 {
			t.Errorf("got %v after %d waits, want ErrUnavailable after 1", err, len(*waits))
		}
	})
	t.Run("attempt timeout", func(t *testing.T) {
		release := make(chan struct{})
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-release:
			case <-r.Context().Done():
			}
		}))
		defer srv.Close()
		defer close(release)
		e, _ := newEngine(t, Options{BaseURL: srv.URL, MaxAttempts: 2, Timeout: 30 * time.Millisecond})
		_, err := e.Synthesize(context.Background(), req)
		if !errors.Is(err, engine.ErrUnavailable) || !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("got %v, want ErrUnavailable wrapping DeadlineExceeded", err)
		}
	})
	t.Run("caller cancels during backoff", func(t *testing.T) {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusServiceUnavailable)
		}))
		defer srv.Close()
		e, _ := newEngine(t, Options{BaseURL: srv.URL, MaxAttempts: 5})
		e.retry.Sleep = retry.Sleep
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
		defer cancel()
		e.retry.MinBackoff = time.Minute
		_, err := e.Synthesize(ctx, req)
		if !errors.Is(err, engine.ErrUnavailable) || !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("got %v, want ErrUnavailable wrapping DeadlineExceeded", err)
		}
	})
}

func TestNewRejectsBadBaseURL(t *testing.T) {
	for _, base := range []string{"", "localhost:8000", "ftp://x", "http://", "::"} {
		if _, err := New(Options{BaseURL: base}); err == nil {
			t.Errorf("New(BaseURL %q): got no error, want one", base)
		}
	}
}
