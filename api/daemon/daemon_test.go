package daemon

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/distributeai/asyncspeech/internal/logtest"
)

// running is a daemon serving in the background of a test.
type running struct {
	t    *testing.T
	d    *Daemon
	logs *logtest.Buffer
	stop func() error // cancels Run's ctx and returns Run's error
}

func startDaemon(t *testing.T, cfg Config, opts ...Option) *running {
	t.Helper()
	return startDaemonWith(t, cfg, nil, opts...)
}

// startDaemonWith is startDaemon with a hook that may adjust the daemon
// between New and Run (nil for none).
func startDaemonWith(t *testing.T, cfg Config, before func(*Daemon), opts ...Option) *running {
	t.Helper()
	if cfg.Addr == "" {
		cfg.Addr = "127.0.0.1:0"
	}
	if cfg.Store == "" {
		cfg.Store = "memory"
	}
	if cfg.Engine == "" {
		cfg.Engine = "tone"
	}
	if cfg.Data == "" {
		cfg.Data = t.TempDir()
	}
	if cfg.Workers == 0 {
		cfg.Workers = 2
	}
	cfg.StrictResponses = true
	logs := &logtest.Buffer{}
	log := slog.New(slog.NewTextHandler(logs, nil))
	d, err := New(context.Background(), cfg, log, opts...)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	if before != nil {
		before(d)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	var once sync.Once
	var runErr error
	stop := func() error {
		once.Do(func() {
			cancel()
			select {
			case runErr = <-done:
			case <-time.After(15 * time.Second):
				runErr = fmt.Errorf("Run did not return within 15s of cancel")
			}
		})
		return runErr
	}
	t.Cleanup(func() { _ = stop() })
	// Run logs "listening on" just before serving; the listener is already
	// bound, so requests queue until then.
	return &running{t: t, d: d, logs: logs, stop: stop}
}

func (r *running) call(method, path, key string, body string) (int, http.Header, []byte) {
	r.t.Helper()
	req, err := http.NewRequest(method, r.d.URL()+path, strings.NewReader(body))
	if err != nil {
		r.t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if key != "" {
		req.Header.Set("Authorization", key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		r.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		r.t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, b
}

type result struct {
	ID       string   `json:"id"`
	Status   string   `json:"status"`
	Created  float64  `json:"created"`
	Finished *float64 `json:"finished"`
	Results  []struct {
		URL string `json:"url"`
	} `json:"results"`
}

func (r *running) create(key, input string) string {
	r.t.Helper()
	code, _, b := r.call(http.MethodPost, "/async/speech/create", key, `{"model":"Chatterbox","input":"`+input+`"}`)
	if code != 200 {
		r.t.Fatalf("create: got %d %s, want 200", code, b)
	}
	var out struct{ ID string }
	if err := json.Unmarshal(b, &out); err != nil {
		r.t.Fatal(err)
	}
	return out.ID
}

func (r *running) result(key, id string) (int, result) {
	r.t.Helper()
	code, _, b := r.call(http.MethodPost, "/async/speech/result", key, `{"id":"`+id+`"}`)
	var res result
	if code == 200 {
		if err := json.Unmarshal(b, &res); err != nil {
			r.t.Fatalf("result body %s: %v", b, err)
		}
	}
	return code, res
}

// waitCompleted polls the task until it is COMPLETED (failing on ERROR or
// after 20 s).
func (r *running) waitCompleted(key, id string) result {
	r.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		code, res := r.result(key, id)
		if code != 200 {
			r.t.Fatalf("result: got %d, want 200", code)
		}
		switch res.Status {
		case "COMPLETED":
			return res
		case "ERROR":
			r.t.Fatalf("task %s ended in ERROR", id)
		}
		time.Sleep(20 * time.Millisecond)
	}
	r.t.Fatalf("task %s not COMPLETED within 20s", id)
	return result{}
}

func TestCreatePollDownloadShutdown(t *testing.T) {
	r := startDaemon(t, Config{})
	id := r.create("dev-key", "hello from the daemon test")
	res := r.waitCompleted("dev-key", id)
	if res.Finished == nil || *res.Finished < res.Created {
		t.Errorf("finished %v, created %v: want finished >= created", res.Finished, res.Created)
	}
	if len(res.Results) != 1 || !strings.HasPrefix(res.Results[0].URL, r.d.URL()+"/results/"+id+"/") {
		t.Fatalf("results: got %+v, want one link under %s/results/%s/", res.Results, r.d.URL(), id)
	}
	// The link is a capability: no API key needed.
	resp, err := http.Get(res.Results[0].URL)
	if err != nil {
		t.Fatal(err)
	}
	wav, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "audio/wav" {
		t.Fatalf("download: got %d %q, want 200 audio/wav", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	if len(wav) < 44 || string(wav[:4]) != "RIFF" || string(wav[8:12]) != "WAVE" {
		t.Fatalf("download: %d bytes, want a WAV file", len(wav))
	}

	logs := r.logs.String()
	if m := regexp.MustCompile(`listening on (http://[0-9.:]+)`).FindStringSubmatch(logs); m == nil || m[1] != r.d.URL() {
		t.Errorf("start log: got %v, want a 'listening on %s' line", m, r.d.URL())
	}
	if !strings.Contains(logs, "OPEN DEVELOPMENT MODE") {
		t.Error("open development mode not announced in the log")
	}

	if err := r.stop(); err != nil {
		t.Fatalf("Run after cancel: got %v, want nil (clean shutdown)", err)
	}
	if _, err := http.Get(r.d.URL() + "/healthz"); err == nil {
		t.Error("after shutdown: the port still answers")
	}
	if !strings.Contains(r.logs.String(), "stopped cleanly") {
		t.Error("clean stop not logged")
	}
}

func TestSideRoutes(t *testing.T) {
	r := startDaemon(t, Config{Keys: []string{"k1"}})
	code, _, body := r.call(http.MethodGet, "/healthz", "", "")
	if code != 200 {
		t.Errorf("healthz: got %d %s, want 200", code, body)
	}
	code, _, body = r.call(http.MethodGet, "/readyz", "", "")
	var ready map[string]string
	if err := json.Unmarshal(body, &ready); err != nil || code != 200 {
		t.Fatalf("readyz: got %d %s (%v), want 200 JSON", code, body, err)
	}
	if ready["engine"] != "tone" || ready["store"] != "memory" || ready["role"] != "all" {
		t.Errorf("readyz: got %v, want engine tone, store memory, role all", ready)
	}
	// API calls need a configured key; side routes do not.
	if code, _, _ := r.call(http.MethodPost, "/async/speech/create", "", `{"model":"Chatterbox","input":"hi"}`); code != 401 {
		t.Errorf("create without key: got %d, want 401", code)
	}
	r.create("k1", "counted")
	code, _, body = r.call(http.MethodGet, "/metrics", "", "")
	if code != 200 {
		t.Fatalf("metrics: got %d, want 200", code)
	}
	for _, want := range []string{
		`speechd_http_requests_total{method="POST",route="/async/speech/create",status="200"} 1`,
		`speechd_http_requests_total{method="POST",route="/async/speech/create",status="401"} 1`,
		`speechd_http_request_duration_seconds_bucket`,
		`speechd_tasks{status="COMPLETED"}`,
		`speechd_queue_depth`,
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	// A tampered result link is refused.
	if code, _, _ := r.call(http.MethodGet, "/results/3f1c2a9e-8b7d-4c6e-9f10-2a3b4c5d6e7f/0.wav?exp=9999999999&sig=00", "", ""); code != 403 && code != 404 {
		t.Errorf("tampered link: got %d, want 403 or 404", code)
	}
}

func TestRoles(t *testing.T) {
	t.Run("api", func(t *testing.T) {
		r := startDaemon(t, Config{Role: RoleAPI})
		// No pool at all, rather than waiting to see that none works: a
		// wait proves nothing on a machine slower than it.
		if r.d.pool != nil {
			t.Fatal("role api: a worker pool was built, want none")
		}
		id := r.create("k", "nobody works here")
		if _, res := r.result("k", id); res.Status != "CREATED" {
			t.Errorf("role api: status %s, want CREATED (no workers)", res.Status)
		}
		if r.d.EngineName() != "" {
			t.Errorf("role api: engine %q, want none", r.d.EngineName())
		}
	})
	t.Run("worker", func(t *testing.T) {
		r := startDaemon(t, Config{Role: RoleWorker})
		code, _, body := r.call(http.MethodPost, "/async/speech/create", "k", `{"model":"Chatterbox","input":"hi"}`)
		if code != 404 || !strings.Contains(string(body), "workers only") {
			t.Errorf("role worker create: got %d %s, want 404 naming the role", code, body)
		}
		if code, _, _ := r.call(http.MethodGet, "/healthz", "", ""); code != 200 {
			t.Errorf("role worker healthz: got %d, want 200", code)
		}
	})
}

func TestSQLiteKeepsSecretAndTasks(t *testing.T) {
	data := t.TempDir()
	r := startDaemon(t, Config{Store: "sqlite", Data: data})
	id := r.create("k", "durable")
	first := r.waitCompleted("k", id)
	if err := r.stop(); err != nil {
		t.Fatalf("stop: %v", err)
	}
	secret, err := os.ReadFile(filepath.Join(data, LinkSecretFile))
	if err != nil || len(bytes.TrimSpace(secret)) < 32 {
		t.Fatalf("link secret file: %q, %v; want a generated secret", secret, err)
	}
	if _, err := os.Stat(filepath.Join(data, SQLiteFile)); err != nil {
		t.Fatalf("database file: %v", err)
	}

	r2 := startDaemon(t, Config{Store: "sqlite", Data: data})
	_, again := r2.result("k", id)
	if again.Status != "COMPLETED" {
		t.Fatalf("after restart: status %s, want COMPLETED", again.Status)
	}
	secret2, _ := os.ReadFile(filepath.Join(data, LinkSecretFile))
	if !bytes.Equal(secret, secret2) {
		t.Error("link secret changed across restarts")
	}
	// Same secret and port-independent path: the old link's signature still
	// verifies on the new process.
	oldURL := first.Results[0].URL
	newURL := r2.d.URL() + oldURL[strings.Index(oldURL, "/results/"):]
	resp, err := http.Get(newURL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("old link on restarted node: got %d, want 200", resp.StatusCode)
	}
}

func TestPostgres(t *testing.T) {
	url := os.Getenv("SPEECH_TEST_POSTGRES")
	if url == "" {
		t.Skip("SPEECH_TEST_POSTGRES is not set; skipping the PostgreSQL daemon test")
	}
	r := startDaemon(t, Config{Store: url, LinkSecret: "0123456789abcdef0123456789abcdef"})
	id := r.create("k", "through postgres")
	r.waitCompleted("k", id)
}

func TestBadConfig(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{"unknown role", Config{Role: "boss"}, "role"},
		{"unknown store", Config{Store: "mysql://u:secretpw@db/x"}, "want sqlite, memory or a postgres:// URL"},
		{"unknown engine", Config{Engine: "sam"}, "unknown"},
		{"short link secret", Config{LinkSecret: "short"}, "link secret"},
		{"bad public URL", Config{PublicURL: "ftp://x"}, "public URL"},
		{"missing keys file", Config{KeysFile: "/nonexistent/keys"}, "keys file"},
		{"negative lease", Config{Lease: -time.Second}, "lease"},
		{"invalid address", Config{Addr: "256.0.0.1:1"}, "listen"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := tc.cfg
			if cfg.Store == "" {
				cfg.Store = "memory"
			}
			if cfg.Addr == "" {
				cfg.Addr = "127.0.0.1:0"
			}
			cfg.Data = t.TempDir()
			d, err := New(context.Background(), cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
			if err == nil {
				_ = d.ln.Close()
				t.Fatalf("got nil error, want one containing %q", tc.want)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q, want it to contain %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "secretpw") {
				t.Errorf("error leaks the store password: %q", err)
			}
		})
	}
}

// firstReadBody closes first when its body is first read.
type firstReadBody struct {
	io.ReadCloser
	first chan struct{}
	once  sync.Once
}

func (b *firstReadBody) Read(p []byte) (int, error) {
	b.once.Do(func() { close(b.first) })
	return b.ReadCloser.Read(p)
}

// TestShutdownFinishesInFlight: a request whose body is still arriving when
// shutdown starts is served to the end; new connections are refused; Run
// returns nil.
func TestShutdownFinishesInFlight(t *testing.T) {
	// The handler reports its first read of the body, which comes after
	// every check that refuses requests once shutdown begins: shutdown then
	// starts with the request truly in flight.
	reading := make(chan struct{})
	r := startDaemonWith(t, Config{}, func(d *Daemon) {
		next := d.srv.Handler
		d.srv.Handler = http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
			req.Body = &firstReadBody{ReadCloser: req.Body, first: reading}
			next.ServeHTTP(w, req)
		})
	})
	body := `{"model":"Chatterbox","input":"finish me please"}`
	conn, err := net.Dial("tcp", r.d.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	head := "POST /async/speech/create HTTP/1.1\r\nHost: speechd\r\nContent-Type: application/json\r\nAuthorization: k\r\n" +
		fmt.Sprintf("Content-Length: %d\r\n\r\n", len(body))
	if _, err := io.WriteString(conn, head+body[:10]); err != nil {
		t.Fatal(err)
	}
	select {
	case <-reading:
	case <-time.After(10 * time.Second):
		t.Fatal("the handler did not start reading the body within 10s")
	}
	stopped := make(chan error, 1)
	go func() { stopped <- r.stop() }()
	// Once shutdown has closed the listener, new connections are refused
	// while the in-flight request is still waiting for its body.
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", r.d.Addr(), time.Second)
		if err != nil {
			break
		}
		c.Close()
		if time.Now().After(deadline) {
			t.Fatal("new connections still accepted 10s after shutdown began")
		}
		time.Sleep(time.Millisecond)
	}
	if _, err := io.WriteString(conn, body[10:]); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("in-flight request: %v", err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(b), `"id"`) {
		t.Fatalf("in-flight request: got %d %s, want 200 with an id", resp.StatusCode, b)
	}
	if err := <-stopped; err != nil {
		t.Fatalf("Run: got %v, want nil", err)
	}
}

// TestSkipValidation: Config.SkipValidation (speechd --validate=false)
// serves without the spec validator and says so loudly; validation stays on
// otherwise.
func TestSkipValidation(t *testing.T) {
	// A property the spec forbids: the validator refuses it, the server's
	// own decoding ignores it.
	body := `{"model":"Chatterbox","input":"hello","speed":2}`
	for _, skip := range []bool{false, true} {
		t.Run(fmt.Sprintf("SkipValidation=%v", skip), func(t *testing.T) {
			r := startDaemon(t, Config{Keys: []string{"k"}, SkipValidation: skip})
			status, _, b := r.call(http.MethodPost, "/async/speech/create", "k", body)
			want := http.StatusBadRequest
			if skip {
				want = http.StatusOK
			}
			if status != want {
				t.Errorf("create with an undocumented property: got %d %s, want %d", status, b, want)
			}
			warned := strings.Contains(r.logs.String(), "SPEC VALIDATION OFF")
			if warned != skip {
				t.Errorf("warning logged: got %v, want %v\n%s", warned, skip, r.logs.String())
			}
		})
	}
}

// TestPublicURLPrefix: with a path in --public-url, the links the server
// hands out download from the server itself, and from a reverse proxy that
// strips the prefix (the same path without it).
func TestPublicURLPrefix(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + ln.Addr().String()
	r := startDaemon(t, Config{PublicURL: base + "/speech/"}, WithListener(ln))
	res := r.waitCompleted("k", r.create("k", "hello there"))
	if len(res.Results) != 1 {
		t.Fatalf("got %d results, want 1", len(res.Results))
	}
	link := res.Results[0].URL
	if !strings.HasPrefix(link, base+"/speech/results/") {
		t.Fatalf("link %s: want it under %s/speech/results/", link, base)
	}
	for _, u := range []string{link, strings.Replace(link, "/speech/results/", "/results/", 1)} {
		resp, err := http.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || !bytes.HasPrefix(body, []byte("RIFF")) {
			t.Errorf("GET %s: got %d %.80q, want 200 and a WAV", u, resp.StatusCode, body)
		}
	}
}

// TestPendingLimits: over --max-pending-per-key a create gets 429, over
// --max-pending 503, both with Retry-After and a message naming the limit;
// nothing refused is stored, every accepted task completes, and room comes
// back when tasks finish.
func TestPendingLimits(t *testing.T) {
	release := make(chan struct{})
	r := startDaemon(t, Config{MaxPendingPerKey: 2, MaxPending: 3}, WithWorkersHeld(release))
	createBody := `{"model":"Chatterbox","input":"hello there"}`
	var accepted []struct{ key, id string }
	tests := []struct {
		key        string
		want       int
		wantInMsg  string
		retryAfter bool
	}{
		{key: "a", want: 200},
		{key: "a", want: 200},
		{key: "a", want: 429, wantInMsg: "--max-pending-per-key", retryAfter: true},
		{key: "b", want: 200},
		{key: "c", want: 503, wantInMsg: "--max-pending", retryAfter: true},
		{key: "b", want: 503, wantInMsg: "--max-pending", retryAfter: true},
	}
	for i, tc := range tests {
		code, h, b := r.call(http.MethodPost, "/async/speech/create", tc.key, createBody)
		if code != tc.want {
			t.Fatalf("create %d (key %s): got %d %s, want %d", i, tc.key, code, b, tc.want)
		}
		if code == 200 {
			var out struct{ ID string }
			if err := json.Unmarshal(b, &out); err != nil {
				t.Fatal(err)
			}
			accepted = append(accepted, struct{ key, id string }{tc.key, out.ID})
			continue
		}
		if !strings.Contains(string(b), tc.wantInMsg) || !strings.HasPrefix(string(b), `{"message":`) {
			t.Errorf("create %d: got body %s, want a {\"message\"} naming %s", i, b, tc.wantInMsg)
		}
		if ra := h.Get("Retry-After"); tc.retryAfter && ra == "" {
			t.Errorf("create %d: no Retry-After on %d", i, code)
		}
	}
	close(release)
	for _, a := range accepted {
		r.waitCompleted(a.key, a.id)
	}
	if code, _, b := r.call(http.MethodPost, "/async/speech/create", "a", createBody); code != 200 {
		t.Errorf("create after the backlog drained: got %d %s, want 200", code, b)
	}
	// The store holds exactly the accepted tasks: refused ones were never stored.
	_, _, metrics := r.call(http.MethodGet, "/metrics", "", "")
	stored := 0
	for _, line := range strings.Split(string(metrics), "\n") {
		if strings.HasPrefix(line, "speechd_tasks{") {
			var n int
			if _, err := fmt.Sscan(line[strings.LastIndexByte(line, ' ')+1:], &n); err == nil {
				stored += n
			}
		}
	}
	if want := len(accepted) + 1; stored != want {
		t.Errorf("tasks in the store: got %d, want %d (the accepted ones only)", stored, want)
	}
}

// TestMaxConnections: past --max-connections a new connection waits to be
// accepted (the flood holds no server memory) and is served once one of
// the others closes.
func TestMaxConnections(t *testing.T) {
	r := startDaemon(t, Config{MaxConnections: 2})
	var held []net.Conn
	for range 2 {
		c, err := net.Dial("tcp", r.d.Addr())
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, c)
	}
	// Let the server accept both before the third arrives.
	time.Sleep(100 * time.Millisecond)
	client := &http.Client{Timeout: 300 * time.Millisecond}
	if resp, err := client.Get(r.d.URL() + "/healthz"); err == nil {
		resp.Body.Close()
		t.Fatalf("third connection served while two were open (status %d), want it to wait", resp.StatusCode)
	}
	held[0].Close()
	client.Timeout = 10 * time.Second
	resp, err := client.Get(r.d.URL() + "/healthz")
	if err != nil {
		t.Fatalf("after one closed: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("after one closed: got %d, want 200", resp.StatusCode)
	}
	held[1].Close()
}

// TestMinFreeDisk: while the data directory's disk has less than
// --min-free-disk free, creates answer 503 with Retry-After naming the
// flag, results still answer, and creates come back once space is freed.
func TestMinFreeDisk(t *testing.T) {
	var free atomic.Uint64
	free.Store(1 << 30)
	r := startDaemon(t, Config{Store: "sqlite", MinFreeDisk: 100 << 20},
		WithDiskFree(func(string) (uint64, error) { return free.Load(), nil }))
	id := r.create("k", "hello there")
	free.Store(10 << 20)
	// The guard measures at most every 2 s: wait for it to see the change.
	var code int
	var h http.Header
	var b []byte
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if code, h, b = r.call(http.MethodPost, "/async/speech/create", "k", `{"model":"Chatterbox","input":"hello"}`); code != 200 {
			break
		}
	}
	if code != http.StatusServiceUnavailable || h.Get("Retry-After") == "" || !strings.Contains(string(b), "--min-free-disk") {
		t.Fatalf("create on a nearly full disk: got %d %s (Retry-After %q), want 503 naming --min-free-disk with Retry-After", code, b, h.Get("Retry-After"))
	}
	if code, _ := r.result("k", id); code != 200 {
		t.Errorf("result on a nearly full disk: got %d, want 200", code)
	}
	free.Store(1 << 30)
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if code, _, b = r.call(http.MethodPost, "/async/speech/create", "k", `{"model":"Chatterbox","input":"hello"}`); code == 200 {
			return
		}
	}
	t.Errorf("create after space was freed: got %d %s, want 200", code, b)
}
