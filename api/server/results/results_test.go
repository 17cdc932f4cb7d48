package results

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/distributeai/asyncspeech/api/task"

	"github.com/distributeai/asyncspeech/api/engine"
	"github.com/distributeai/asyncspeech/api/store"
	"github.com/distributeai/asyncspeech/api/store/memory"
)

const taskID = "2f1c7c1e-8a4b-4c2e-9d7a-1b2c3d4e5f60"

var secret = []byte("0123456789abcdef-test-secret")

// clock is a settable fake clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// completedStore returns a memory store holding one COMPLETED task with the given audio.
func completedStore(t *testing.T, audio ...store.Audio) store.Store {
	t.Helper()
	ctx := context.Background()
	st := memory.New()
	t.Cleanup(func() { st.Close() })
	now := time.Now()
	steps := []func() error{
		func() error {
			return st.Create(ctx, task.Task{ID: taskID, Owner: "o", Model: "Chatterbox", Created: now})
		},
		func() error { _, err := st.Admit(ctx, store.AdmitOptions{Now: now, Limit: 10}); return err },
		func() error {
			_, err := st.Claim(ctx, store.ClaimOptions{Worker: "w", Now: now, LeaseUntil: now.Add(time.Hour)})
			return err
		},
		func() error { return st.Start(ctx, taskID, "w", now.Add(time.Hour)) },
		func() error { return st.Complete(ctx, taskID, "w", now, audio) },
	}
	for i, step := range steps {
		if err := step(); err != nil {
			t.Fatalf("setting up the store, step %d: %v", i, err)
		}
	}
	return st
}

func newSigner(t *testing.T, c *clock, ttl time.Duration) *Signer {
	t.Helper()
	s, err := NewSigner(secret, "https://speech.example.com/", ttl, WithNow(c.Now))
	if err != nil {
		t.Fatalf("NewSigner: %v", err)
	}
	return s
}

func TestURLFormat(t *testing.T) {
	c := &clock{t: time.Unix(1_800_000_000, 0)} // a whole minute
	s := newSigner(t, c, time.Hour)
	u, err := url.Parse(s.URL(taskID, 2))
	if err != nil {
		t.Fatalf("URL does not parse: %v", err)
	}
	if got, want := u.Scheme+"://"+u.Host+u.Path, "https://speech.example.com/results/"+taskID+"/2.wav"; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
	if got := u.Query().Get("exp"); got != "1800003600" {
		t.Errorf("got exp %s, want 1800003600 (now + 1h)", got)
	}
	if sig := u.Query().Get("sig"); len(sig) != 64 || strings.Trim(sig, "0123456789abcdef") != "" {
		t.Errorf("got sig %q, want 64 lowercase hex digits", sig)
	}
}

// TestURLIsAFunctionOfEpoch: a link made now is the link of now's epoch,
// whichever way it is asked for, with or without reused links; the server's
// answer reuse rests on this.
func TestURLIsAFunctionOfEpoch(t *testing.T) {
	tests := []struct {
		name string
		opts []Option
	}{
		{"reused links", nil},
		{"no reused links", []Option{WithMaxLinks(0)}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := &clock{t: time.Unix(1_800_000_000, 0)}
			s, err := NewSigner(secret, "https://speech.example.com/", time.Hour, append(tc.opts, WithNow(c.Now))...)
			if err != nil {
				t.Fatalf("NewSigner: %v", err)
			}
			for step := range 150 {
				e := s.Epoch()
				for index := range 3 {
					if got, want := s.URL(taskID, index), s.URLAt(taskID, index, e); got != want {
						t.Fatalf("step %d: URL %s, want URLAt(Epoch()) %s", step, got, want)
					}
				}
				if got := s.URLAt(taskID, 0, e+60); got == s.URLAt(taskID, 0, e) {
					t.Fatalf("step %d: another epoch gave the same link %s", step, got)
				}
				c.Add(time.Second)
			}
		})
	}
}

func TestExpiryRounding(t *testing.T) {
	tests := []struct {
		name string
		now  time.Time
		ttl  time.Duration
		want int64
	}{
		{"whole minute stays", time.Unix(1_800_000_000, 0), time.Hour, 1_800_003_600},
		{"rounded up to the minute", time.Unix(1_800_000_001, 0), time.Hour, 1_800_003_660},
		{"fraction rounds up", time.Unix(1_800_000_000, 1), time.Hour, 1_800_003_660},
		{"short ttl rounds to the second", time.Unix(1_800_000_000, 500_000_000), 30 * time.Second, 1_800_000_031},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := newSigner(t, &clock{t: tc.now}, tc.ttl)
			got := s.expiry(tc.now)
			if got != tc.want {
				t.Errorf("got exp %d, want %d", got, tc.want)
			}
			if time.Unix(got, 0).Before(tc.now.Add(tc.ttl)) {
				t.Errorf("link lives less than ttl: exp %d < %v", got, tc.now.Add(tc.ttl))
			}
		})
	}
}

func TestNewSignerRejects(t *testing.T) {
	tests := []struct {
		name   string
		secret []byte
		public string
		ttl    time.Duration
	}{
		{"short secret", []byte("short"), "https://x", time.Hour},
		{"relative url", secret, "/results", time.Hour},
		{"no scheme", secret, "speech.example.com", time.Hour},
		{"query", secret, "https://x/?a=b", time.Hour},
		{"zero ttl", secret, "https://x", 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := NewSigner(tc.secret, tc.public, tc.ttl); err == nil {
				t.Error("got no error, want one")
			}
		})
	}
}

func TestVerify(t *testing.T) {
	c := &clock{t: time.Unix(1_800_000_000, 0)}
	s := newSigner(t, c, time.Hour)
	exp := s.expiry(c.Now())
	sig := s.sign(taskID, 0, exp)
	other, err := NewSigner([]byte("another-secret-of-16+"), "https://speech.example.com", time.Hour, WithNow(c.Now))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		id    string
		index int
		exp   int64
		sig   string
		want  error
	}{
		{"genuine", taskID, 0, exp, sig, nil},
		{"other index", taskID, 1, exp, sig, ErrBadSignature},
		{"other id", "3f1c7c1e-8a4b-4c2e-9d7a-1b2c3d4e5f60", 0, exp, sig, ErrBadSignature},
		{"extended expiry", taskID, 0, exp + 3600, sig, ErrBadSignature},
		{"flipped digit", taskID, 0, exp, "f" + sig[1:], ErrBadSignature},
		{"uppercase hex of the same bytes", taskID, 0, exp, strings.ToUpper(sig), nil},
		{"truncated", taskID, 0, exp, sig[:62], ErrBadSignature},
		{"not hex", taskID, 0, exp, strings.Repeat("z", 64), ErrBadSignature},
		{"empty", taskID, 0, exp, "", ErrBadSignature},
		{"other secret", taskID, 0, exp, other.sign(taskID, 0, exp), ErrBadSignature},
		{"nul in id", taskID + "\x000", 0, exp, sig, ErrBadSignature},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := s.Verify(tc.id, tc.index, tc.exp, tc.sig); !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
				t.Errorf("got %v, want %v", err, tc.want)
			}
		})
	}
	t.Run("expired", func(t *testing.T) {
		c.Add(time.Hour)
		err := s.Verify(taskID, 0, exp, sig)
		if !errors.Is(err, ErrExpired) {
			t.Errorf("got %v, want ErrExpired", err)
		}
	})
}

func message(t *testing.T, resp *http.Response) string {
	t.Helper()
	var m struct{ Message string }
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("error response: got Content-Type %q, want application/json", ct)
	}
	if err := json.NewDecoder(resp.Body).Decode(&m); err != nil || m.Message == "" {
		t.Errorf("error body: got %q (%v), want {\"message\": ...}", m.Message, err)
	}
	return m.Message
}

func TestHandlerErrors(t *testing.T) {
	wav := engine.EncodeWAV(8000, make([]int16, 800))
	c := &clock{t: time.Unix(1_800_000_000, 0)}
	s := newSigner(t, c, time.Hour)
	st := completedStore(t, store.Audio{ContentType: "audio/wav", Data: wav})
	srv := httptest.NewServer(Handler(st, s, nil))
	defer srv.Close()
	local := func(u string) string { return srv.URL + strings.TrimPrefix(u, "https://speech.example.com") }
	good := s.URL(taskID, 0)

	tests := []struct {
		name    string
		method  string
		url     string
		advance time.Duration
		want    int
		msg     string // substring of the message
	}{
		{name: "tampered signature", url: strings.Replace(good, "sig=", "sig=0", 1)[:len(good)], want: 403, msg: "signature"},
		{name: "missing signature", url: strings.Split(good, "&sig=")[0], want: 403, msg: "signature"},
		{name: "extended expiry", url: strings.Replace(good, "exp=", "exp=9", 1), want: 403, msg: "signature"},
		{name: "missing expiry", url: local("https://speech.example.com/results/" + taskID + "/0.wav?sig=00"), want: 403, msg: "expiry"},
		{name: "expired", url: good, advance: 2 * time.Hour, want: 403, msg: "expired"},
		{name: "unknown task", url: s.URL("00000000-0000-4000-8000-000000000000", 0), want: 404, msg: "does not exist"},
		{name: "unknown index", url: s.URL(taskID, 1), want: 404, msg: "does not exist"},
		{name: "not a wav path", url: strings.Replace(good, "0.wav", "0.mp3", 1), want: 404},
		{name: "non-canonical index", url: strings.Replace(good, "/0.wav", "/00.wav", 1), want: 404},
		{name: "negative index", url: strings.Replace(good, "/0.wav", "/-1.wav", 1), want: 404},
		{name: "wrong place", url: strings.Replace(good, "/results/", "/other/", 1), want: 404},
		{name: "POST not allowed", method: http.MethodPost, url: good, want: 405},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c.Add(tc.advance)
			defer c.Add(-tc.advance)
			method := tc.method
			if method == "" {
				method = http.MethodGet
			}
			u := tc.url
			if strings.HasPrefix(u, "https://") {
				u = local(u)
			}
			req, _ := http.NewRequest(method, u, nil)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatalf("%s %s: %v", method, u, err)
			}
			defer resp.Body.Close()
			if resp.StatusCode != tc.want {
				t.Fatalf("got status %d, want %d", resp.StatusCode, tc.want)
			}
			if msg := message(t, resp); !strings.Contains(msg, tc.msg) {
				t.Errorf("got message %q, want it to mention %q", msg, tc.msg)
			}
			if cc := resp.Header.Get("Cache-Control"); cc != "no-store" {
				t.Errorf("got Cache-Control %q on an error, want no-store", cc)
			}
		})
	}
}

func TestHandlerServesAudio(t *testing.T) {
	wav := engine.EncodeWAV(8000, make([]int16, 800))
	for i := range wav[44:] {
		wav[44+i] = byte(i)
	}
	c := &clock{t: time.Unix(1_800_000_000, 0)}
	s := newSigner(t, c, time.Hour)
	st := completedStore(t, store.Audio{ContentType: "audio/wav", Data: wav}, store.Audio{ContentType: "audio/mpeg", Data: []byte("ID3 fake")})
	srv := httptest.NewServer(Handler(st, s, nil))
	defer srv.Close()
	path := strings.TrimPrefix(s.URL(taskID, 0), "https://speech.example.com")
	c.Add(10 * time.Minute) // max-age counts down to the expiry

	get := func(t *testing.T, method, p string, hdr map[string]string) (*http.Response, []byte) {
		t.Helper()
		req, _ := http.NewRequest(method, srv.URL+p, nil)
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, p, err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp, body
	}

	t.Run("GET", func(t *testing.T) {
		resp, body := get(t, http.MethodGet, path, nil)
		if resp.StatusCode != 200 || string(body) != string(wav) {
			t.Fatalf("got %d with %d bytes, want 200 with the %d stored bytes", resp.StatusCode, len(body), len(wav))
		}
		want := map[string]string{
			"Content-Type":   "audio/wav",
			"Content-Length": strconv.Itoa(len(wav)),
			"Cache-Control":  "private, max-age=3000, immutable",
			"Accept-Ranges":  "bytes",
			"ETag":           fmt.Sprintf(`"%s-0-%d"`, taskID, len(wav)),
		}
		for k, v := range want {
			if got := resp.Header.Get(k); got != v {
				t.Errorf("got %s %q, want %q", k, got, v)
			}
		}
		if _, err := engine.ParseWAV(body); err != nil {
			t.Errorf("served audio does not parse: %v", err)
		}
	})
	t.Run("HEAD", func(t *testing.T) {
		resp, body := get(t, http.MethodHead, path, nil)
		if resp.StatusCode != 200 || len(body) != 0 || resp.Header.Get("Content-Length") != strconv.Itoa(len(wav)) {
			t.Errorf("got %d, %d body bytes, Content-Length %q; want 200, none, %d", resp.StatusCode, len(body), resp.Header.Get("Content-Length"), len(wav))
		}
	})
	t.Run("range", func(t *testing.T) {
		resp, body := get(t, http.MethodGet, path, map[string]string{"Range": "bytes=44-53"})
		if resp.StatusCode != http.StatusPartialContent || string(body) != string(wav[44:54]) {
			t.Errorf("got %d %v, want 206 %v", resp.StatusCode, body, wav[44:54])
		}
		if got, want := resp.Header.Get("Content-Range"), fmt.Sprintf("bytes 44-53/%d", len(wav)); got != want {
			t.Errorf("got Content-Range %q, want %q", got, want)
		}
	})
	t.Run("a few ranges are served, thousands ignored", func(t *testing.T) {
		few := "bytes=0-0,2-2"
		resp, _ := get(t, http.MethodGet, path, map[string]string{"Range": few})
		if resp.StatusCode != http.StatusPartialContent || !strings.HasPrefix(resp.Header.Get("Content-Type"), "multipart/byteranges") {
			t.Errorf("%s: got %d %s, want 206 multipart/byteranges", few, resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		many := "bytes=" + strings.TrimSuffix(strings.Repeat("0-0,", 5000), ",")
		resp, body := get(t, http.MethodGet, path, map[string]string{"Range": many})
		if resp.StatusCode != http.StatusOK || string(body) != string(wav) {
			t.Errorf("5000 ranges: got %d and %d bytes, want 200 and the whole %d-byte file", resp.StatusCode, len(body), len(wav))
		}
	})
	// ServeContent's own errors get the {"message"} shape of every other one.
	for _, tc := range []struct {
		name   string
		hdr    map[string]string
		status int
		// contentRange is the Content-Range header wanted ("" for none).
		contentRange, msg string
	}{
		{"unsatisfiable range", map[string]string{"Range": "bytes=99999-"}, http.StatusRequestedRangeNotSatisfiable,
			fmt.Sprintf("bytes */%d", len(wav)), fmt.Sprintf("the file has %d bytes", len(wav))},
		{"failed If-Match", map[string]string{"If-Match": `"other"`}, http.StatusPreconditionFailed, "", "precondition"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := get(t, http.MethodGet, path, tc.hdr)
			if resp.StatusCode != tc.status {
				t.Fatalf("got %d, want %d", resp.StatusCode, tc.status)
			}
			if got := resp.Header.Get("Content-Type"); got != "application/json" {
				t.Errorf("got Content-Type %q, want application/json (body %q)", got, body)
			}
			var m map[string]string
			if err := json.Unmarshal(body, &m); err != nil || len(m) != 1 || !strings.Contains(m["message"], tc.msg) {
				t.Errorf(`got body %q, want {"message"} mentioning %q`, body, tc.msg)
			}
			if got := resp.Header.Get("Content-Range"); got != tc.contentRange {
				t.Errorf("got Content-Range %q, want %q", got, tc.contentRange)
			}
			if got := resp.Header.Get("Cache-Control"); got != "no-store" {
				t.Errorf("got Cache-Control %q, want no-store", got)
			}
			if got := resp.Header.Get("Content-Length"); got != strconv.Itoa(len(body)) {
				t.Errorf("got Content-Length %q, want %d", got, len(body))
			}
		})
	}
	t.Run("conditional", func(t *testing.T) {
		etag := fmt.Sprintf(`"%s-0-%d"`, taskID, len(wav))
		resp, body := get(t, http.MethodGet, path, map[string]string{"If-None-Match": etag})
		if resp.StatusCode != http.StatusNotModified || len(body) != 0 {
			t.Errorf("got %d with %d bytes, want 304 with none", resp.StatusCode, len(body))
		}
	})
	// Under a path prefix, as behind a proxy that keeps the public URL's path.
	t.Run("stored content type under a prefix", func(t *testing.T) {
		p := strings.TrimPrefix(s.URL(taskID, 1), "https://speech.example.com")
		resp, body := get(t, http.MethodGet, "/speech"+p, nil)
		if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "audio/mpeg" || string(body) != "ID3 fake" {
			t.Errorf("got %d %q %q, want 200 audio/mpeg \"ID3 fake\"", resp.StatusCode, resp.Header.Get("Content-Type"), body)
		}
	})
}

// failingStore is a fake whose AudioInfo always fails, to show a broken
// store gives 503, not 500 and not a leaked error text.
type failingStore struct{ store.Store }

func (failingStore) AudioInfo(context.Context, string, int) (store.AudioInfo, error) {
	return store.AudioInfo{}, errors.New("disk I/O error at /secret/path")
}

func TestHandlerStoreFailure(t *testing.T) {
	c := &clock{t: time.Unix(1_800_000_000, 0)}
	s := newSigner(t, c, time.Hour)
	rec := httptest.NewRecorder()
	Handler(failingStore{}, s, nil).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, strings.TrimPrefix(s.URL(taskID, 0), "https://speech.example.com"), nil))
	if rec.Code != http.StatusServiceUnavailable || strings.Contains(rec.Body.String(), "secret") {
		t.Errorf("got %d %q, want 503 without the internal error text", rec.Code, rec.Body)
	}
	if got := rec.Header().Get("Retry-After"); got == "" {
		t.Error("503 without Retry-After")
	}
}

// countingStore wraps a store and records every ReadAudio: how many bytes
// the store handed out in all and the largest single read.
type countingStore struct {
	store.Store
	mu          sync.Mutex
	calls       int
	bytes, most int64
	failAfter   int64 // fail reads once this many bytes were read (0: never)
}

func (c *countingStore) ReadAudio(ctx context.Context, id string, index int, p []byte, off int64) (int, error) {
	c.mu.Lock()
	if c.failAfter > 0 && c.bytes >= c.failAfter {
		c.mu.Unlock()
		return 0, errors.New("disk I/O error")
	}
	c.mu.Unlock()
	n, err := c.Store.ReadAudio(ctx, id, index, p, off)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls++
	c.bytes += int64(n)
	c.most = max(c.most, int64(len(p)))
	return n, err
}

func (c *countingStore) read() (calls int, bytes, most int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.calls, c.bytes, c.most
}

// TestDownloadReadsBounded: a download reads from the store only the bytes
// it sends, in chunks of at most store.MaxAudioRead, for a 1-byte Range, a
// range in the middle and a full download of an 8 MiB result alike.
func TestDownloadReadsBounded(t *testing.T) {
	const size = 8 << 20
	data := make([]byte, size)
	for i := range data {
		data[i] = byte(i % 251)
	}
	c := &clock{t: time.Unix(1_800_000_000, 0)}
	s := newSigner(t, c, time.Hour)
	path := strings.TrimPrefix(s.URL(taskID, 0), "https://speech.example.com")
	tests := []struct {
		name      string
		rangeHdr  string
		status    int
		from, to  int // the bytes of data the body must be
		maxStored int64
	}{
		{"one byte", "bytes=0-0", http.StatusPartialContent, 0, 1, 64 << 10},
		{"last byte", "bytes=-1", http.StatusPartialContent, size - 1, size, 64 << 10},
		{"100 KiB in the middle", "bytes=4000000-4102399", http.StatusPartialContent, 4000000, 4102400, 100<<10 + 64<<10},
		{"full", "", http.StatusOK, 0, size, size},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cs := &countingStore{Store: completedStore(t, store.Audio{ContentType: "audio/wav", Data: data})}
			req := httptest.NewRequest(http.MethodGet, path, nil)
			if tt.rangeHdr != "" {
				req.Header.Set("Range", tt.rangeHdr)
			}
			rec := httptest.NewRecorder()
			Handler(cs, s, nil).ServeHTTP(rec, req)
			if rec.Code != tt.status {
				t.Fatalf("status: got %d, want %d", rec.Code, tt.status)
			}
			if !bytes.Equal(rec.Body.Bytes(), data[tt.from:tt.to]) {
				t.Fatalf("body: got %d bytes, want bytes %d-%d of the file", rec.Body.Len(), tt.from, tt.to-1)
			}
			if got, want := rec.Header().Get("ETag"), fmt.Sprintf(`"%s-0-%d"`, taskID, size); got != want {
				t.Errorf("ETag: got %s, want %s", got, want)
			}
			calls, n, most := cs.read()
			if n > tt.maxStored {
				t.Errorf("bytes read from the store: got %d, want at most %d", n, tt.maxStored)
			}
			if most > store.MaxAudioRead {
				t.Errorf("largest single store read: got %d bytes, want at most %d", most, store.MaxAudioRead)
			}
			t.Logf("%d store reads, %d bytes, largest %d", calls, n, most)
		})
	}
}

// TestDownloadStoreFailsMidway: a store that fails after the headers went
// out ends the body short (the client sees fewer bytes than
// Content-Length), and never turns into a 500.
func TestDownloadStoreFailsMidway(t *testing.T) {
	data := bytes.Repeat([]byte("abcdefgh"), 64<<10) // 512 KiB
	cs := &countingStore{Store: completedStore(t, store.Audio{ContentType: "audio/wav", Data: data}), failAfter: 128 << 10}
	c := &clock{t: time.Unix(1_800_000_000, 0)}
	s := newSigner(t, c, time.Hour)
	srv := httptest.NewServer(Handler(cs, s, nil))
	defer srv.Close()
	resp, err := http.Get(srv.URL + strings.TrimPrefix(s.URL(taskID, 0), "https://speech.example.com"))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.ContentLength != int64(len(data)) {
		t.Fatalf("got status %d, length %d, want 200 with length %d", resp.StatusCode, resp.ContentLength, len(data))
	}
	got, err := io.ReadAll(resp.Body)
	if err == nil || len(got) >= len(data) {
		t.Errorf("body: got %d bytes, err %v, want a short body and an error", len(got), err)
	}
}

func TestParsePath(t *testing.T) {
	tests := []struct {
		path  string
		id    string
		index int
		ok    bool
	}{
		{"/results/abc/0.wav", "abc", 0, true},
		{"/prefix/results/abc/12.wav", "abc", 12, true},
		{"/results/abc/1.WAV", "", 0, false},
		{"/results//0.wav", "", 0, false},
		{"/results/abc/.wav", "", 0, false},
		{"/results/abc/+1.wav", "", 0, false},
		{"/results/abc/99999999999999999999.wav", "", 0, false},
		{"/results/" + strings.Repeat("a", maxIDLen+1) + "/0.wav", "", 0, false},
		{"/results/abc", "", 0, false},
		{"", "", 0, false},
	}
	for _, tc := range tests {
		id, index, ok := parsePath(tc.path)
		if id != tc.id || index != tc.index || ok != tc.ok {
			t.Errorf("parsePath(%q): got %q %d %v, want %q %d %v", tc.path, id, index, ok, tc.id, tc.index, tc.ok)
		}
	}
}

func BenchmarkServe(b *testing.B) {
	wav := engine.EncodeWAV(16000, make([]int16, 16000))
	st := memory.New()
	defer st.Close()
	ctx := context.Background()
	now := time.Now()
	_ = st.Create(ctx, task.Task{ID: taskID, Owner: "o", Created: now})
	_, _ = st.Admit(ctx, store.AdmitOptions{Now: now, Limit: 1})
	_, _ = st.Claim(ctx, store.ClaimOptions{Worker: "w", Now: now, LeaseUntil: now.Add(time.Hour)})
	_ = st.Start(ctx, taskID, "w", now.Add(time.Hour))
	if err := st.Complete(ctx, taskID, "w", now, []store.Audio{{ContentType: "audio/wav", Data: wav}}); err != nil {
		b.Fatal(err)
	}
	s, _ := NewSigner(secret, "http://x", time.Hour)
	h := Handler(st, s, nil)
	path := strings.TrimPrefix(s.URL(taskID, 0), "http://x")
	for b.Loop() {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
		if rec.Code != 200 {
			b.Fatalf("got %d", rec.Code)
		}
	}
}

// BenchmarkServeBaseline serves the same bytes with http.ServeContent alone:
// BenchmarkServe / BenchmarkServeBaseline is the cost of the signature check,
// the store read and the extra headers.
func BenchmarkServeBaseline(b *testing.B) {
	wav := engine.EncodeWAV(16000, make([]int16, 16000))
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "audio/wav")
		http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(wav))
	})
	for b.Loop() {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/results/"+taskID+"/0.wav?exp=1&sig=00", nil))
		if rec.Code != 200 {
			b.Fatalf("got %d", rec.Code)
		}
	}
}
