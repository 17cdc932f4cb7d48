package proxy_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/distributeai/asyncspeech/api/proxy"
	"github.com/distributeai/asyncspeech/generated"
	"github.com/distributeai/asyncspeech/internal/logtest"
)

const taskID = "3f2b8c1e-9a4d-4c2b-8e1f-0123456789ab"

// brokenUpstream answers the result call with an undocumented field and a
// create with a body that has no id; it records what reached it.
type brokenUpstream struct {
	mu     sync.Mutex
	bodies []string
	ids    []string
}

func (u *brokenUpstream) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	u.mu.Lock()
	u.bodies = append(u.bodies, string(b))
	u.ids = append(u.ids, r.Header.Get(proxy.RequestIDHeader))
	u.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	// An upstream that makes its own request ids.
	w.Header().Set(proxy.RequestIDHeader, "upstream-own-id")
	switch r.URL.Path {
	case "/async/speech/result":
		_, _ = io.WriteString(w, `{"id":"`+taskID+`","status":"QUEUED","created":1764000000.5,"model":"Chatterbox","results":[],"queue_position":3}`)
	case "/async/speech/create":
		_, _ = io.WriteString(w, `{"task":"abc"}`)
	case "/results/x.wav":
		w.Header().Set("Content-Type", "audio/wav")
		_, _ = io.WriteString(w, "RIFF....WAVE")
	default:
		w.WriteHeader(http.StatusNotFound)
	}
}

func (u *brokenUpstream) seen() (bodies, ids []string) {
	u.mu.Lock()
	defer u.mu.Unlock()
	return append([]string(nil), u.bodies...), append([]string(nil), u.ids...)
}

// logRecords decodes the JSON log lines written to buf.
func logRecords(t *testing.T, buf *logtest.Buffer) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		if line == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line is not JSON: %q", line)
		}
		out = append(out, m)
	}
	return out
}

func startProxy(t *testing.T, strict bool) (proxyURL string, up *brokenUpstream, logs *logtest.Buffer) {
	t.Helper()
	up = &brokenUpstream{}
	upSrv := httptest.NewServer(up)
	t.Cleanup(upSrv.Close)
	u, _ := url.Parse(upSrv.URL)
	logs = &logtest.Buffer{}
	h, err := proxy.New(context.Background(), u, proxy.Options{
		Strict: strict,
		Logger: slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelInfo})),
	})
	if err != nil {
		t.Fatalf("proxy.New: %v", err)
	}
	p := httptest.NewServer(h)
	t.Cleanup(p.Close)
	return p.URL, up, logs
}

func newClient(t *testing.T, base string) *generated.ClientWithResponses {
	t.Helper()
	c, err := generated.NewClientWithResponses(base, generated.WithRequestEditorFn(func(_ context.Context, r *http.Request) error {
		r.Header.Set("authorization", "test-key")
		return nil
	}))
	if err != nil {
		t.Fatalf("NewClientWithResponses: %v", err)
	}
	return c
}

func TestResponseViolationIsLoggedWithRequestID(t *testing.T) {
	base, _, logs := startProxy(t, false)
	c := newClient(t, base)
	resp, err := c.AsyncSpeechResultWithResponse(context.Background(), generated.AsyncSpeechResultJSONRequestBody{Id: taskID})
	if err != nil {
		t.Fatalf("result through the proxy: %v", err)
	}
	// Log-only mode passes the upstream's answer through unchanged.
	if resp.StatusCode() != http.StatusOK || !strings.Contains(string(resp.Body), "queue_position") {
		t.Fatalf("got %d %s, want the upstream's 200 unchanged", resp.StatusCode(), resp.Body)
	}
	id := resp.HTTPResponse.Header.Get(proxy.RequestIDHeader)
	if ids := resp.HTTPResponse.Header.Values(proxy.RequestIDHeader); len(ids) != 1 || id == "" || id == "upstream-own-id" {
		t.Fatalf("response %s: got %q, want one id, the proxy's", proxy.RequestIDHeader, ids)
	}
	if got := resp.HTTPResponse.Header.Get(proxy.UpstreamRequestIDHeader); got != "upstream-own-id" {
		t.Errorf("%s: got %q, want the upstream's own id", proxy.UpstreamRequestIDHeader, got)
	}
	var found bool
	for _, rec := range logRecords(t, logs) {
		if rec["msg"] != "response violates the API contract" {
			continue
		}
		found = true
		if rec["request_id"] != id {
			t.Errorf("violation logged with request_id %v, want %q", rec["request_id"], id)
		}
		if !strings.Contains(rec["reason"].(string), "queue_position") {
			t.Errorf("violation reason %q does not name the undocumented field", rec["reason"])
		}
	}
	if !found {
		t.Fatalf("no violation logged; logs:\n%s", logs.String())
	}
}

func TestStrictModeRefusesViolations(t *testing.T) {
	base, up, logs := startProxy(t, true)
	c := newClient(t, base)
	ctx := context.Background()

	resp, err := c.AsyncSpeechResultWithResponse(ctx, generated.AsyncSpeechResultJSONRequestBody{Id: taskID})
	if err != nil {
		t.Fatalf("result: %v", err)
	}
	if resp.StatusCode() != http.StatusInternalServerError || resp.JSON500 == nil || resp.JSON500.Message == "" {
		t.Errorf("violating response in strict mode: got %d %s, want 500 {message}", resp.StatusCode(), resp.Body)
	}

	bad, err := c.AsyncSpeechResultWithResponse(ctx, generated.AsyncSpeechResultJSONRequestBody{Id: "not-a-uuid"})
	if err != nil {
		t.Fatalf("bad result: %v", err)
	}
	if bad.StatusCode() != http.StatusBadRequest {
		t.Errorf("invalid request in strict mode: got %d %s, want 400", bad.StatusCode(), bad.Body)
	}
	bodies, _ := up.seen()
	for _, b := range bodies {
		if strings.Contains(b, "not-a-uuid") {
			t.Errorf("invalid request reached the upstream in strict mode: %s", b)
		}
	}
	if !strings.Contains(logs.String(), `"invalid request"`) {
		t.Errorf("invalid request not logged; logs:\n%s", logs.String())
	}
}

func TestLogModeForwardsOriginalBytes(t *testing.T) {
	base, up, logs := startProxy(t, false)
	c := newClient(t, base)
	ctx := context.Background()

	// A valid create: the validator fills schema defaults into the body it
	// checks, but the upstream must get exactly what the client sent.
	create, err := c.AsyncSpeechCreateWithResponse(ctx, generated.AsyncSpeechCreateJSONRequestBody{Model: "Chatterbox", Input: "hello"})
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	if create.StatusCode() != http.StatusOK {
		t.Errorf("create through the proxy: got %d, want the upstream's 200", create.StatusCode())
	}
	// An invalid request is forwarded too, and logged.
	if _, err := c.AsyncSpeechResultWithResponse(ctx, generated.AsyncSpeechResultJSONRequestBody{Id: "not-a-uuid"}); err != nil {
		t.Fatalf("bad result: %v", err)
	}
	bodies, ids := up.seen()
	if len(bodies) != 2 {
		t.Fatalf("upstream saw %d requests, want 2", len(bodies))
	}
	if got, want := bodies[0], `{"input":"hello","model":"Chatterbox"}`; got != want {
		t.Errorf("upstream got create body %s, want the client's bytes %s", got, want)
	}
	if !strings.Contains(bodies[1], "not-a-uuid") {
		t.Errorf("invalid request not forwarded in log mode: upstream got %q", bodies[1])
	}
	if ids[0] == "" || ids[0] == ids[1] {
		t.Errorf("upstream request ids %q: want distinct non-empty ids", ids)
	}
	var invalidLogged, createLogged bool
	for _, rec := range logRecords(t, logs) {
		if rec["msg"] == "invalid request" && rec["request_id"] == ids[1] {
			invalidLogged = true
		}
		if rec["msg"] == "response violates the API contract" && rec["route"] == "POST /async/speech/create" {
			createLogged = true
		}
	}
	if !invalidLogged {
		t.Errorf("invalid request not logged with request_id %s; logs:\n%s", ids[1], logs.String())
	}
	if !createLogged {
		t.Errorf("create's response without an id not logged; logs:\n%s", logs.String())
	}
}

func TestPathsOutsideTheSpecPassThrough(t *testing.T) {
	base, _, logs := startProxy(t, true)
	resp, err := http.Get(base + "/results/x.wav")
	if err != nil {
		t.Fatalf("GET: %v", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || string(b) != "RIFF....WAVE" {
		t.Errorf("GET /results/x.wav: got %d %q, want the upstream's audio", resp.StatusCode, b)
	}
	if strings.Contains(logs.String(), "violat") {
		t.Errorf("audio download logged as a violation: %s", logs.String())
	}
}

func TestWrongMethod(t *testing.T) {
	for _, tt := range []struct {
		name   string
		strict bool
		want   int
	}{
		{"log mode forwards", false, http.StatusOK}, // the upstream answers any method
		{"strict mode refuses", true, http.StatusMethodNotAllowed},
	} {
		t.Run(tt.name, func(t *testing.T) {
			base, up, logs := startProxy(t, tt.strict)
			resp, err := http.Get(base + "/async/speech/result")
			if err != nil {
				t.Fatalf("GET: %v", err)
			}
			resp.Body.Close()
			if resp.StatusCode != tt.want {
				t.Errorf("GET /async/speech/result: got %d, want %d", resp.StatusCode, tt.want)
			}
			bodies, _ := up.seen()
			if forwarded := len(bodies) == 1; forwarded == tt.strict {
				t.Errorf("forwarded to the upstream: %v, want %v", forwarded, !tt.strict)
			}
			if !strings.Contains(logs.String(), `"invalid request"`) {
				t.Errorf("wrong method not logged:\n%s", logs.String())
			}
		})
	}
}

func TestUnreachableUpstreamIs502(t *testing.T) {
	dead := httptest.NewServer(nil)
	u, _ := url.Parse(dead.URL)
	dead.Close()
	tests := []struct {
		name, method, path, body string
		strict                   bool
	}{
		{"unvalidated path", http.MethodGet, "/healthz", "", false},
		{"result call", http.MethodPost, "/async/speech/result", `{"id":"` + taskID + `"}`, false},
		{"create call", http.MethodPost, "/async/speech/create", `{"model":"Chatterbox","input":"hi"}`, false},
		{"result call, strict", http.MethodPost, "/async/speech/result", `{"id":"` + taskID + `"}`, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			logs := &logtest.Buffer{}
			h, err := proxy.New(context.Background(), u, proxy.Options{Strict: tt.strict, Logger: slog.New(slog.NewJSONHandler(logs, nil))})
			if err != nil {
				t.Fatalf("proxy.New: %v", err)
			}
			req := httptest.NewRequest(tt.method, tt.path, strings.NewReader(tt.body))
			req.Header.Set("Content-Type", "application/json")
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != http.StatusBadGateway {
				t.Errorf("status: got %d, want 502 (body %s)", rec.Code, rec.Body)
			}
			var m map[string]string
			if err := json.Unmarshal(rec.Body.Bytes(), &m); err != nil || m["message"] != "upstream unreachable" {
				t.Errorf(`body: got %s, want {"message":"upstream unreachable"}`, rec.Body)
			}
			var unreachable int
			for _, rec := range logRecords(t, logs) {
				switch rec["msg"] {
				case "upstream unreachable":
					unreachable++
				case "response violates the API contract":
					t.Errorf("the proxy's own 502 was validated as the upstream's response: %v", rec)
				}
			}
			if unreachable != 1 {
				t.Errorf("got %d \"upstream unreachable\" log lines, want 1:\n%s", unreachable, logs.String())
			}
		})
	}
}

func TestNewRejectsBadUpstream(t *testing.T) {
	for _, raw := range []string{"", "127.0.0.1:8080", "ftp://host"} {
		u, _ := url.Parse(raw)
		if _, err := proxy.New(context.Background(), u, proxy.Options{}); err == nil {
			t.Errorf("New(%q): got nil error, want one", raw)
		}
	}
}
