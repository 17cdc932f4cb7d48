package speechtest_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/distributeai/asyncspeech/api/daemon"
	"github.com/distributeai/asyncspeech/api/speechtest"
)

// TestSameAnswersAsSpeechd sends the same good and bad requests to a
// speechtest server and to speechd's composition with the same key, and
// requires the same status, content type, security-relevant headers and
// body (ids and times aside): speechtest is speechd, not a look-alike.
func TestSameAnswersAsSpeechd(t *testing.T) {
	const key = "parity-key"
	st := speechtest.NewServer(t, speechtest.WithKeys(key))
	d, err := daemon.New(context.Background(), daemon.Config{
		Addr: "127.0.0.1:0", Store: "memory", Engine: "tone", Keys: []string{key}, StrictResponses: true,
	}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("speechd Run: %v", err)
		}
	})

	const okCreate = `{"model":"Chatterbox","input":"hello there"}`
	tests := []struct {
		name, method, path, key, ct, body string
	}{
		{"create", "POST", "/async/speech/create", key, "application/json", okCreate},
		{"create without key", "POST", "/async/speech/create", "", "application/json", okCreate},
		{"create with a wrong key", "POST", "/async/speech/create", "nope", "application/json", okCreate},
		{"create as text", "POST", "/async/speech/create", key, "text/plain", okCreate},
		{"create with GET", "GET", "/async/speech/create", key, "", ""},
		{"create with an unknown field", "POST", "/async/speech/create", key, "application/json", `{"model":"Chatterbox","input":"hi","x":[{"a":1}]}`},
		{"create with null", "POST", "/async/speech/create", key, "application/json", `{"model":"Chatterbox","input":"hi","temperature":null}`},
		{"create too large", "POST", "/async/speech/create", key, "application/json", `{"model":"Chatterbox","input":"` + strings.Repeat("a", 70000) + `"}`},
		{"create not JSON", "POST", "/async/speech/create", key, "application/json", `{`},
		{"result of a malformed id", "POST", "/async/speech/result", key, "application/json", `{"id":"x"}`},
		{"result of an unknown id", "POST", "/async/speech/result", key, "application/json", `{"id":"0b6f1f4e-8c1d-4e7a-9f3b-2a5c6d7e8f90"}`},
		{"unknown path", "POST", "/async/speech/nope", key, "application/json", `{}`},
		{"result file with a bad signature", "GET", "/results/0b6f1f4e-8c1d-4e7a-9f3b-2a5c6d7e8f90/0.wav?exp=1&sig=00", "", "", ""},
		{"health", "GET", "/healthz", "", "", ""},
		{"readiness", "GET", "/readyz", "", "", ""},
		{"metrics", "GET", "/metrics", "", "", ""},
	}
	// Ids, times, request ids and store names differ between two servers.
	normalize := regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}|"store":"[a-z]+"|"engine":"[^"]*"`)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := send(t, st.URL, tc.method, tc.path, tc.key, tc.ct, tc.body)
			b := send(t, d.URL(), tc.method, tc.path, tc.key, tc.ct, tc.body)
			if a.status != b.status {
				t.Fatalf("status: speechtest %d, speechd %d", a.status, b.status)
			}
			for _, h := range []string{"Content-Type", "Allow", "Retry-After", "WWW-Authenticate", "Cache-Control", "X-Content-Type-Options"} {
				if a.header.Get(h) != b.header.Get(h) {
					t.Errorf("%s: speechtest %q, speechd %q", h, a.header.Get(h), b.header.Get(h))
				}
			}
			if (a.header.Get("X-Request-Id") == "") != (b.header.Get("X-Request-Id") == "") {
				t.Errorf("X-Request-Id: speechtest %q, speechd %q", a.header.Get("X-Request-Id"), b.header.Get("X-Request-Id"))
			}
			if tc.path == "/metrics" {
				for _, name := range []string{"speechd_http_requests_total", "speechd_http_request_duration_seconds", "speechd_tasks"} {
					if !strings.Contains(a.body, name) || !strings.Contains(b.body, name) {
						t.Errorf("metric %s: in speechtest %v, in speechd %v; want it in both", name, strings.Contains(a.body, name), strings.Contains(b.body, name))
					}
				}
				return
			}
			if na, nb := normalize.ReplaceAllString(a.body, "X"), normalize.ReplaceAllString(b.body, "X"); na != nb {
				t.Errorf("body: speechtest %.200q, speechd %.200q", na, nb)
			}
		})
	}
}

type answer struct {
	status int
	header http.Header
	body   string
}

func send(t *testing.T, base, method, path, key, ct, body string) answer {
	t.Helper()
	req, err := http.NewRequest(method, base+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if key != "" {
		req.Header.Set("Authorization", key)
	}
	if ct != "" {
		req.Header.Set("Content-Type", ct)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return answer{resp.StatusCode, resp.Header, string(b)}
}
