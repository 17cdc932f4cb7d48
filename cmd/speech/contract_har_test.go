package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/distributeai/asyncspeech/api/har"
	"github.com/distributeai/asyncspeech/api/speechtest"
	"github.com/distributeai/asyncspeech/internal/logtest"
)

// A failed check carries a curl reproduction in each output format, with
// the key as $DISTRIBUTE_API_KEY and never the key itself.
func TestContractCommandReproductionsInEveryFormat(t *testing.T) {
	const key = "very-secret-key"
	broken := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "boom", http.StatusInternalServerError)
	}))
	defer broken.Close()
	vars := map[string]string{"DISTRIBUTE_API_KEY": key}
	junit := filepath.Join(t.TempDir(), "report.xml")
	for _, format := range []string{"text", "json", "junit"} {
		t.Run(format, func(t *testing.T) {
			args := []string{"contract", "--base-url", broken.URL, "--skip-create", "--max-requests", "10"}
			switch format {
			case "json":
				args = append(args, "--json")
			case "junit":
				args = append(args, "--junit", junit)
			}
			var out, errOut logtest.Buffer
			if code := runSpeech(context.Background(), vars, &out, &errOut, args...); code != exitFailure {
				t.Fatalf("exit %d, want 1\nstderr:\n%s", code, errOut.String())
			}
			doc := out.String()
			if format == "junit" {
				b, err := os.ReadFile(junit)
				if err != nil {
					t.Fatalf("JUnit file: %v", err)
				}
				doc = string(b)
			}
			if format == "json" {
				var rep struct {
					Checks []struct {
						Name      string   `json:"name"`
						Reproduce []string `json:"reproduce"`
					} `json:"checks"`
				}
				if err := json.Unmarshal([]byte(doc), &rep); err != nil {
					t.Fatalf("--json: %v", err)
				}
				found := false
				for _, c := range rep.Checks {
					if c.Name == "notfound.result" && len(c.Reproduce) == 1 && strings.HasPrefix(c.Reproduce[0], "curl ") {
						found = true
					}
				}
				if !found {
					t.Errorf("JSON: notfound.result has no reproduce entry:\n%s", doc)
				}
			}
			if !strings.Contains(doc, "curl -sS -X POST") || !strings.Contains(doc, "$DISTRIBUTE_API_KEY") {
				t.Errorf("%s output has no curl line naming $DISTRIBUTE_API_KEY:\n%s", format, doc)
			}
			if strings.Contains(doc, key) {
				t.Errorf("%s output holds the key itself", format)
			}
		})
	}
}

// speech proxy --har records a full contract run with generated inputs;
// speech contract --replay passes it, and fails an edited copy naming the
// entry.
func TestProxyHARAndReplay(t *testing.T) {
	srv := speechtest.NewServer(t, speechtest.WithKeys("key-one", "key-two"))
	dir := t.TempDir()
	harPath := filepath.Join(dir, "run.har")

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var pout, perr logtest.Buffer
	done := make(chan int, 1)
	go func() {
		done <- runSpeech(ctx, nil, &pout, &perr, "proxy", "--upstream", srv.URL, "--listen", "127.0.0.1:0", "--har", harPath)
	}()
	addr := waitListening(t, &perr, done)

	var out, errOut logtest.Buffer
	code := runSpeech(context.Background(), map[string]string{"DISTRIBUTE_API_KEY": "key-one"}, &out, &errOut,
		"contract", "--base-url", addr, "--second-key", "key-two", "--examples", "20", "--seed", "3",
		"--max-requests", "1000", "--max-response-time", "30s", "--poll-timeout", "20s", "--json")
	if code != exitOK {
		t.Fatalf("contract through the proxy: exit %d\nstdout:\n%s\nstderr:\n%s", code, out.String(), errOut.String())
	}
	var rep struct {
		Seed     uint64 `json:"seed"`
		Examples int    `json:"examples"`
	}
	if err := json.Unmarshal([]byte(out.String()), &rep); err != nil || rep.Seed != 3 || rep.Examples != 20 {
		t.Errorf("JSON report seed %d examples %d (%v), want 3 and 20", rep.Seed, rep.Examples, err)
	}
	cancel()
	select {
	case code := <-done:
		if code != exitOK {
			t.Fatalf("speech proxy exit %d, want 0:\n%s", code, perr.String())
		}
	case <-time.After(15 * time.Second):
		t.Fatal("speech proxy did not stop")
	}
	raw, err := os.ReadFile(harPath)
	if err != nil {
		t.Fatalf("HAR file: %v", err)
	}
	if strings.Contains(string(raw), "key-one") || strings.Contains(string(raw), "key-two") {
		t.Error("the HAR file holds a key")
	}

	out, errOut = logtest.Buffer{}, logtest.Buffer{}
	if code := runSpeech(context.Background(), nil, &out, &errOut, "contract", "--replay", harPath); code != exitOK {
		t.Fatalf("--replay of the recorded run: exit %d, want 0\n%s\n%s", code, out.String(), errOut.String())
	}
	if !strings.Contains(out.String(), "PASSED: ") {
		t.Errorf("--replay report:\n%s", out.String())
	}

	f, err := har.ReadFile(harPath)
	if err != nil {
		t.Fatalf("ReadFile: %v", err)
	}
	n := -1
	for i, e := range f.Log.Entries {
		if strings.HasSuffix(e.Request.URL, "/async/speech/create") && e.Response.Status == http.StatusOK {
			f.Log.Entries[i].Response.Status = http.StatusTeapot
			n = i + 1
			break
		}
	}
	if n < 0 {
		t.Fatal("no accepted create in the recording")
	}
	edited := filepath.Join(dir, "edited.har")
	b, _ := json.Marshal(f)
	if err := os.WriteFile(edited, b, 0o644); err != nil {
		t.Fatal(err)
	}
	out = logtest.Buffer{}
	if code := runSpeech(context.Background(), nil, &out, &errOut, "contract", "--replay", edited); code != exitFailure {
		t.Fatalf("--replay of the edited run: exit %d, want 1\n%s", code, out.String())
	}
	if want := "entry #" + strconv.Itoa(n) + " (POST "; !strings.Contains(out.String(), "FAIL  conformance.status") || !strings.Contains(out.String(), want) {
		t.Errorf("--replay of the edited run does not fail conformance.status naming %q:\n%s", want, out.String())
	}
}

func TestContractReplayUsage(t *testing.T) {
	dir := t.TempDir()
	notHAR := filepath.Join(dir, "x.har")
	if err := os.WriteFile(notHAR, []byte(`{"hello":1}`), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"contract", "--replay", filepath.Join(dir, "missing.har")},
		{"contract", "--replay", notHAR},
		{"contract", "--base-url", "http://127.0.0.1:1", "--api-key", "k", "--examples", "-1"},
		{"proxy", "--upstream", "http://127.0.0.1:1", "--listen", "127.0.0.1:0", "--har", filepath.Join(dir, "no", "such", "dir.har")},
	} {
		var out, errOut logtest.Buffer
		if code := runSpeech(context.Background(), nil, &out, &errOut, args...); code != exitUsage {
			t.Errorf("%v: exit %d, want 2\n%s", args, code, errOut.String())
		}
	}
}
