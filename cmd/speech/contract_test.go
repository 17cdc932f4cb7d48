package main

import (
	"bufio"
	"context"
	"encoding/json"
	"encoding/xml"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/distributeai/asyncspeech/api/speechtest"
	"github.com/distributeai/asyncspeech/generated"
	"github.com/distributeai/asyncspeech/internal/logtest"
)

// runSpeech runs the command in-process with its own streams and environment.
func runSpeech(ctx context.Context, vars map[string]string, stdout, stderr io.Writer, args ...string) int {
	e := &env{stdin: strings.NewReader(""), stdout: stdout, stderr: stderr, getenv: func(k string) string { return vars[k] }}
	return run(ctx, e, args)
}

func TestContractCommandAgainstReferenceServer(t *testing.T) {
	srv := speechtest.NewServer(t, speechtest.WithKeys("key-one", "key-two"))
	junit := filepath.Join(t.TempDir(), "contract.xml")

	var out, errOut logtest.Buffer
	code := runSpeech(context.Background(), map[string]string{"DISTRIBUTE_API_KEY": "key-one"}, &out, &errOut,
		"contract", "--base-url", srv.URL, "--second-key", "key-two", "--junit", junit, "--poll-timeout", "20s")
	if code != exitOK {
		t.Fatalf("exit %d, want 0\nstdout:\n%s\nstderr:\n%s", code, out.String(), errOut.String())
	}
	for _, want := range []string{"PASS  isolation.second-key", "PASS  negative.create.input.maxLength", "PASSED: "} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, out.String())
		}
	}
	b, err := os.ReadFile(junit)
	if err != nil {
		t.Fatalf("JUnit file: %v", err)
	}
	var doc struct {
		Tests    int `xml:"tests,attr"`
		Failures int `xml:"failures,attr"`
	}
	if err := xml.Unmarshal(b, &doc); err != nil {
		t.Fatalf("JUnit file does not parse: %v", err)
	}
	if doc.Tests < 40 || doc.Failures != 0 {
		t.Errorf("JUnit: tests=%d failures=%d, want >= 40 and 0", doc.Tests, doc.Failures)
	}
}

func TestContractCommandFailsOnViolations(t *testing.T) {
	// Answers every call with a text/plain 500: every check must see it.
	broken := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "boom", http.StatusInternalServerError)
	}))
	defer broken.Close()
	var out, errOut logtest.Buffer
	code := runSpeech(context.Background(), nil, &out, &errOut,
		"contract", "--base-url", broken.URL, "--api-key", "k", "--json", "--skip-create", "--max-requests", "30")
	if code != exitFailure {
		t.Fatalf("exit %d, want 1\nstderr:\n%s", code, errOut.String())
	}
	var rep struct {
		Requests int `json:"requests"`
		Checks   []struct {
			Name    string `json:"name"`
			Outcome string `json:"outcome"`
		} `json:"checks"`
	}
	if err := json.Unmarshal([]byte(out.String()), &rep); err != nil {
		t.Fatalf("--json output does not decode: %v\n%s", err, out.String())
	}
	if rep.Requests > 30 {
		t.Errorf("sent %d requests, want <= 30 (--max-requests)", rep.Requests)
	}
	failed := map[string]bool{}
	for _, c := range rep.Checks {
		failed[c.Name] = c.Outcome == "fail"
	}
	for _, want := range []string{"conformance.content-type", "notfound.result", "negative.result.id.pattern"} {
		if !failed[want] {
			t.Errorf("check %s did not fail against a server answering text/plain 500", want)
		}
	}
}

func TestContractCommandUsage(t *testing.T) {
	tests := []struct {
		name string
		vars map[string]string
		args []string
		want int
	}{
		{"help", nil, []string{"contract", "-h"}, exitOK},
		{"no base URL", map[string]string{"DISTRIBUTE_API_KEY": "k"}, []string{"contract"}, exitUsage},
		{"no key", nil, []string{"contract", "--base-url", "http://127.0.0.1:1"}, exitUsage},
		{"bad URL", nil, []string{"contract", "--base-url", "127.0.0.1:1", "--api-key", "k"}, exitUsage},
		{"unknown flag", nil, []string{"contract", "--frobnicate"}, exitUsage},
		{"stray argument", nil, []string{"contract", "--base-url", "http://127.0.0.1:1", "--api-key", "k", "extra"}, exitUsage},
		{"zero budget", nil, []string{"contract", "--base-url", "http://127.0.0.1:1", "--api-key", "k", "--max-requests", "0"}, exitUsage},
		{"zero timeout", nil, []string{"contract", "--base-url", "http://127.0.0.1:1", "--api-key", "k", "--timeout", "0s"}, exitUsage},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errOut logtest.Buffer
			if got := runSpeech(context.Background(), tt.vars, &out, &errOut, tt.args...); got != tt.want {
				t.Errorf("exit %d, want %d\nstderr:\n%s", got, tt.want, errOut.String())
			}
		})
	}
}

func TestContractCommandTimeoutGivesPartialReport(t *testing.T) {
	// A server that never answers: --timeout must end the run.
	stall := make(chan struct{})
	hung := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-stall:
		case <-r.Context().Done():
		}
	}))
	defer hung.Close()
	defer close(stall)
	var out, errOut logtest.Buffer
	start := time.Now()
	code := runSpeech(context.Background(), nil, &out, &errOut,
		"contract", "--base-url", hung.URL, "--api-key", "k", "--timeout", "300ms")
	if code != exitFailure {
		t.Errorf("exit %d, want 1", code)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("run took %v with --timeout 300ms", d)
	}
	if !strings.Contains(errOut.String(), "partial") || !strings.Contains(out.String(), "SKIP") {
		t.Errorf("want a partial report with skipped checks; stdout:\n%s\nstderr:\n%s", out.String(), errOut.String())
	}
	// Exit 1 must match the summary: an interrupted run is not PASSED.
	if !strings.Contains(out.String(), "\nINCOMPLETE: ") || strings.Contains(out.String(), "PASSED") {
		t.Errorf("summary: want INCOMPLETE and no PASSED:\n%s", out.String())
	}
}

func TestContractCommandRefusedKey(t *testing.T) {
	srv := speechtest.NewServer(t, speechtest.WithKeys("k1", "k2"))
	var out, errOut logtest.Buffer
	code := runSpeech(context.Background(), nil, &out, &errOut,
		"contract", "--base-url", srv.URL, "--api-key", "wrong", "--skip-create")
	if code != exitFailure {
		t.Errorf("exit %d, want 1\nstdout:\n%s", code, out.String())
	}
	for _, want := range []string{"FAIL  notfound.result", "SKIP  negative.result.id.pattern", "API key refused (401)", "\nFAILED: ", "API KEY REFUSED"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, out.String())
		}
	}
	if strings.Contains(out.String(), "PASS  negative.") {
		t.Errorf("a negative check passed on a refused key:\n%s", out.String())
	}
}

func TestContractCommandBudgetSaysPartial(t *testing.T) {
	srv := speechtest.NewServer(t, speechtest.WithKeys("k1", "k2"))
	var out, errOut logtest.Buffer
	code := runSpeech(context.Background(), nil, &out, &errOut,
		"contract", "--base-url", srv.URL, "--api-key", "k1", "--skip-create", "--max-requests", "3")
	if code != exitOK {
		t.Errorf("exit %d, want 0 (skips are allowed)\nstdout:\n%s", code, out.String())
	}
	for _, want := range []string{"\nPASSED (PARTIAL): ", "PARTIAL: the request budget (MaxRequests / --max-requests 3) ran out"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, out.String())
		}
	}
}

func TestProxyCommandLogsViolations(t *testing.T) {
	// An upstream whose result answers carry an undocumented field.
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"id":"3f2b8c1e-9a4d-4c2b-8e1f-0123456789ab","status":"QUEUED","created":1764000000,"model":"Chatterbox","results":[],"shard":"eu-2"}`)
	}))
	defer upstream.Close()

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out, errOut logtest.Buffer
	done := make(chan int, 1)
	go func() {
		done <- runSpeech(ctx, nil, &out, &errOut, "proxy", "--upstream", upstream.URL, "--listen", "127.0.0.1:0", "--log-json")
	}()
	addr := waitListening(t, &errOut, done)

	c, err := generated.NewClientWithResponses(addr, generated.WithRequestEditorFn(func(_ context.Context, r *http.Request) error {
		r.Header.Set("authorization", "k")
		return nil
	}))
	if err != nil {
		t.Fatalf("client: %v", err)
	}
	resp, err := c.AsyncSpeechResultWithResponse(ctx, generated.AsyncSpeechResultJSONRequestBody{Id: "3f2b8c1e-9a4d-4c2b-8e1f-0123456789ab"})
	if err != nil {
		t.Fatalf("result through speech proxy: %v", err)
	}
	id := resp.HTTPResponse.Header.Get("X-Request-Id")
	cancel()
	select {
	case code := <-done:
		if code != exitOK {
			t.Errorf("speech proxy exit %d after cancel, want 0", code)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("speech proxy did not stop after its context ended")
	}
	var found bool
	sc := bufio.NewScanner(strings.NewReader(errOut.String()))
	for sc.Scan() {
		var rec map[string]any
		if json.Unmarshal(sc.Bytes(), &rec) != nil || rec["msg"] != "response violates the API contract" {
			continue
		}
		found = true
		if rec["request_id"] != id || !strings.Contains(rec["reason"].(string), "shard") {
			t.Errorf("violation record %v: want request_id %q and a reason naming \"shard\"", rec, id)
		}
	}
	if !found {
		t.Errorf("no violation logged:\n%s", errOut.String())
	}
}

// waitListening waits for the "listening on http://..." log line and
// returns the URL.
func waitListening(t *testing.T, stderr *logtest.Buffer, done chan int) string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		s := stderr.String()
		if i := strings.Index(s, "listening on http://"); i >= 0 {
			rest := s[i+len("listening on "):]
			end := strings.IndexAny(rest, "\" \n")
			return rest[:end]
		}
		select {
		case code := <-done:
			t.Fatalf("speech proxy exited %d before listening:\n%s", code, s)
		case <-time.After(5 * time.Millisecond):
		}
	}
	t.Fatalf("speech proxy did not log its address:\n%s", stderr.String())
	return ""
}

func TestProxyCommandUsage(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want int
	}{
		{"help", []string{"proxy", "-h"}, exitOK},
		{"no upstream", []string{"proxy", "--listen", "127.0.0.1:0"}, exitUsage},
		{"relative upstream", []string{"proxy", "--upstream", "localhost:8080"}, exitUsage},
		{"stray argument", []string{"proxy", "--upstream", "http://127.0.0.1:1", "x"}, exitUsage},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errOut logtest.Buffer
			if got := runSpeech(context.Background(), nil, &out, &errOut, tt.args...); got != tt.want {
				t.Errorf("exit %d, want %d\nstderr:\n%s", got, tt.want, errOut.String())
			}
		})
	}
}
