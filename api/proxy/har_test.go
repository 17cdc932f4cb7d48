package proxy_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/distributeai/asyncspeech/api/har"
	"github.com/distributeai/asyncspeech/api/proxy"
)

// With HAR set, the proxy records each exchange as the client saw it: the
// strict proxy's own refusal, the replaced violating answer, and paths
// outside the spec, with the key redacted.
func TestProxyRecordsHAR(t *testing.T) {
	up := httptest.NewServer(&brokenUpstream{})
	defer up.Close()
	u, _ := url.Parse(up.URL)
	rec := har.NewRecorder("test", "1")
	h, err := proxy.New(context.Background(), u, proxy.Options{Strict: true, Logger: slog.New(slog.DiscardHandler), HAR: rec})
	if err != nil {
		t.Fatalf("proxy.New: %v", err)
	}
	p := httptest.NewServer(h)
	defer p.Close()

	send := func(method, path, body string) int {
		t.Helper()
		req, _ := http.NewRequest(method, p.URL+path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "proxy-test-key")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
	statuses := []int{
		send("POST", "/async/speech/create", `{"model":"Chatterbox"}`), // refused by the strict proxy
		send("POST", "/async/speech/result", `{"id":"`+taskID+`"}`),    // violating answer replaced by 500
		send("GET", "/results/x.wav", ""),                              // outside the spec
	}
	f := rec.File()
	if len(f.Log.Entries) != 3 {
		t.Fatalf("recorded %d entries, want 3", len(f.Log.Entries))
	}
	for i, e := range f.Log.Entries {
		if e.Response.Status != statuses[i] {
			t.Errorf("entry %d: recorded status %d, the client got %d", i+1, e.Response.Status, statuses[i])
		}
		if got := har.Headers(e.Request.Headers).Get("Authorization"); got != har.Redacted {
			t.Errorf("entry %d: authorization recorded as %q, want %q", i+1, got, har.Redacted)
		}
		if e.RequestID == "" {
			t.Errorf("entry %d: no request id", i+1)
		}
	}
	if statuses[0] != http.StatusBadRequest || statuses[1] != http.StatusInternalServerError {
		t.Errorf("statuses %v: want the strict proxy's 400 and 500 first", statuses)
	}
	if b := string(f.Log.Entries[0].RequestBody()); b != `{"model":"Chatterbox"}` {
		t.Errorf("recorded request body %q", b)
	}
}
