package contract_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/distributeai/asyncspeech/api/contract"
	"github.com/distributeai/asyncspeech/api/har"
	"github.com/distributeai/asyncspeech/api/proxy"
	"github.com/distributeai/asyncspeech/api/speechtest"
)

// recordRun runs the full suite (fixed checks and a few generated inputs)
// against the reference server through the proxy with a HAR recorder, and
// returns the recording.
func recordRun(t *testing.T) *har.File {
	t.Helper()
	srv := speechtest.NewServer(t, speechtest.WithKeys(keyA, keyB))
	up, _ := url.Parse(srv.URL)
	rec := har.NewRecorder("speech proxy", "test")
	h, err := proxy.New(context.Background(), up, proxy.Options{Logger: slog.New(slog.DiscardHandler), HAR: rec})
	if err != nil {
		t.Fatalf("proxy.New: %v", err)
	}
	p := httptest.NewServer(h)
	defer p.Close()
	opts := fastOptions()
	opts.Examples, opts.Seed, opts.MaxRequests, opts.PollTimeout = 40, 1, 2000, 20*time.Second
	rep := runSuite(t, p.URL, opts)
	if !rep.Passed() {
		t.Fatalf("suite through the recording proxy: failed %v\n%s", rep.Failed(), textOf(t, rep))
	}
	var buf bytes.Buffer
	if _, err := rec.WriteTo(&buf); err != nil {
		t.Fatalf("WriteTo: %v", err)
	}
	for _, key := range []string{keyA, keyB} {
		if bytes.Contains(buf.Bytes(), []byte(key)) {
			t.Errorf("the recording holds the key %q", key)
		}
	}
	f, err := har.Read(&buf)
	if err != nil {
		t.Fatalf("har.Read of the recording: %v", err)
	}
	// The audio downloads go to the result URLs, the server's own address,
	// not through the proxy.
	if got, want := len(f.Log.Entries), rep.Requests-rep.Check("results.audio").Requests; got != want {
		t.Errorf("recording has %d entries, the suite sent %d requests through the proxy", got, want)
		for _, e := range f.Log.Entries {
			t.Logf("%s %s %d", e.Request.Method, e.Request.URL, e.Response.Status)
		}
	}
	return f
}

func TestRecordedRunReplaysCleanAndAnEditFailsNamingTheEntry(t *testing.T) {
	t.Parallel()
	f := recordRun(t)
	ctx := context.Background()
	rep, err := contract.Replay(ctx, f, contract.ReplayOptions{Name: "run.har", MaxResponseTime: time.Minute})
	if err != nil {
		t.Fatalf("Replay: %v", err)
	}
	if !rep.Passed() {
		t.Fatalf("replay of a clean run: failed %v\n%s", rep.Failed(), textOf(t, rep))
	}
	if len(rep.Checks) != 4 {
		t.Errorf("replay ran %d checks, want the 3 conformance checks and response-time", len(rep.Checks))
	}

	// Edit one COMPLETED result out of spec: an undocumented field.
	edited := -1
	for i := range f.Log.Entries {
		e := &f.Log.Entries[i]
		if !strings.HasSuffix(e.Request.URL, "/async/speech/result") || e.Response.Status != 200 {
			continue
		}
		var body map[string]any
		if json.Unmarshal([]byte(e.Response.Content.Text), &body) != nil || body["status"] != "COMPLETED" {
			continue
		}
		body["debug"] = "worker-7"
		b, _ := json.Marshal(body)
		e.Response.Content.Text = string(b)
		edited = i
		break
	}
	if edited < 0 {
		t.Fatal("no COMPLETED result in the recording to edit")
	}
	rep, err = contract.Replay(ctx, f, contract.ReplayOptions{Name: "edited.har"})
	if err != nil {
		t.Fatalf("Replay: %v", err)
	}
	if got := rep.Failed(); len(got) != 1 || got[0] != "conformance.schema" {
		t.Fatalf("replay of the edited run: failed %v, want [conformance.schema]\n%s", got, textOf(t, rep))
	}
	c := rep.Check("conformance.schema")
	msgs := strings.Join(c.Messages, "\n")
	want := regexp.MustCompile(`entry #` + strconv.Itoa(edited+1) + ` \(POST \S+/async/speech/result`)
	if len(c.Messages) != 1 || !want.MatchString(msgs) || !strings.Contains(msgs, "debug") {
		t.Errorf("messages %q: want one naming entry #%d and the field debug", msgs, edited+1)
	}
	if len(c.Reproduce) != 1 || !strings.Contains(c.Reproduce[0], "$"+contract.EnvAPIKey) || !strings.Contains(c.Reproduce[0], "/async/speech/result") {
		t.Errorf("reproductions %q: want the result call with $%s", c.Reproduce, contract.EnvAPIKey)
	}
	if rep.Replay != "edited.har" {
		t.Errorf("report names the recording %q, want edited.har", rep.Replay)
	}
}

func TestReplayOfNoOperationIsAnError(t *testing.T) {
	f := &har.File{Log: har.Log{Version: har.Version, Entries: []har.Entry{{Request: har.Request{Method: "GET", URL: "http://h/audio/x.wav"}}}}}
	if _, err := contract.Replay(context.Background(), f, contract.ReplayOptions{}); err == nil {
		t.Error("Replay of a recording without API calls: got nil error, want one")
	}
}
