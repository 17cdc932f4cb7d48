package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
)

// benchFakeServer serves both operations with fixed, valid bodies and
// counts the calls it answers.
func benchFakeServer(t *testing.T) (*httptest.Server, *atomic.Int64, *atomic.Int64) {
	t.Helper()
	var creates, results atomic.Int64
	const id = "3f1b1a52-6a3e-4c1b-9d7e-2b8f0c1d2e3f"
	mux := http.NewServeMux()
	mux.HandleFunc("POST /async/speech/create", func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "secret" {
			w.WriteHeader(http.StatusUnauthorized)
			fmt.Fprint(w, `{"message":"missing key"}`)
			return
		}
		creates.Add(1)
		fmt.Fprintf(w, `{"id":%q}`, id)
	})
	mux.HandleFunc("POST /async/speech/result", func(w http.ResponseWriter, r *http.Request) {
		results.Add(1)
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"id":%q,"status":"COMPLETED","created":1.5,"finished":2.5,"model":"Chatterbox","results":[]}`, id)
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv, &creates, &results
}

func runBenchForTest(t *testing.T, vars map[string]string, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	e := &env{stdout: &stdout, stderr: &stderr, stdin: strings.NewReader(""), getenv: func(k string) string { return vars[k] }}
	code := run(context.Background(), e, append([]string{"bench"}, args...))
	return code, stdout.String(), stderr.String()
}

func TestBenchScenarios(t *testing.T) {
	srv, creates, results := benchFakeServer(t)
	tests := []struct {
		name        string
		args        []string
		wantCreates int64
		wantResults int64
	}{
		{"result creates one task, waits for it, then reads it", []string{"--scenario", "result", "--requests", "30"}, 1, 32},
		{"result on a given task", []string{"--scenario", "result", "--requests", "20", "--task-id", "3f1b1a52-6a3e-4c1b-9d7e-2b8f0c1d2e3f"}, 0, 21},
		{"create", []string{"--scenario", "create", "--requests", "25"}, 25, 0},
		{"lifecycle with the client's Wait", []string{"--scenario", "lifecycle", "--requests", "7"}, 7, 7},
		{"lifecycle with the polling loop", []string{"--scenario", "lifecycle", "--wait", "poll", "--requests", "6"}, 6, 6},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			creates.Store(0)
			results.Store(0)
			args := append([]string{"--base-url", srv.URL, "--api-key", "secret", "--concurrency", "4", "--duration", "30s", "--json"}, tt.args...)
			code, out, errOut := runBenchForTest(t, nil, args...)
			if code != exitOK {
				t.Fatalf("exit %d, want %d; stderr: %s", code, exitOK, errOut)
			}
			var rep struct {
				Scenario string         `json:"scenario"`
				Requests int            `json:"requests"`
				OK       int            `json:"ok"`
				Statuses map[string]int `json:"statuses"`
			}
			if err := json.Unmarshal([]byte(out), &rep); err != nil {
				t.Fatalf("stdout is not one JSON report: %v: %q", err, out)
			}
			if rep.OK != rep.Requests || rep.Requests == 0 {
				t.Errorf("report ok=%d requests=%d, want all ok", rep.OK, rep.Requests)
			}
			if got := creates.Load(); got != tt.wantCreates {
				t.Errorf("server saw %d creates, want %d", got, tt.wantCreates)
			}
			if got := results.Load(); got != tt.wantResults {
				t.Errorf("server saw %d result calls, want %d", got, tt.wantResults)
			}
		})
	}
}

func TestBenchTextReportAndEnv(t *testing.T) {
	srv, _, _ := benchFakeServer(t)
	code, out, errOut := runBenchForTest(t,
		map[string]string{"DISTRIBUTE_BASE_URL": srv.URL, "DISTRIBUTE_API_KEY": "secret"},
		"--scenario", "create", "--requests", "5", "--concurrency", "2")
	if code != exitOK {
		t.Fatalf("exit %d, want 0; stderr: %s", code, errOut)
	}
	for _, want := range []string{"scenario    create", "operations  5 (5 ok, 0 failed)", "throughput", "p99"} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q:\n%s", want, out)
		}
	}
}

func TestBenchLifecycleTextReport(t *testing.T) {
	srv, _, _ := benchFakeServer(t)
	code, out, errOut := runBenchForTest(t, nil, "--base-url", srv.URL, "--api-key", "secret",
		"--scenario", "lifecycle", "--requests", "3", "--concurrency", "1")
	if code != exitOK {
		t.Fatalf("exit %d, want 0; stderr: %s", code, errOut)
	}
	for _, want := range []string{"tasks/s completed", "to complete p50", "operations  3 (3 ok, 0 failed)"} {
		if !strings.Contains(out, want) {
			t.Errorf("lifecycle report lacks %q:\n%s", want, out)
		}
	}
}

func TestBenchRefusals(t *testing.T) {
	srv, creates, _ := benchFakeServer(t)
	tests := []struct {
		name     string
		args     []string
		wantCode int
		wantErr  string
	}{
		{"non-loopback target", []string{"--base-url", "http://192.0.2.10:8080", "--api-key", "k"}, exitUsage, "not a loopback address"},
		{"no base url", []string{"--api-key", "k"}, exitUsage, "--base-url"},
		{"no key", []string{"--base-url", srv.URL}, exitUsage, "--api-key"},
		{"unknown scenario", []string{"--base-url", srv.URL, "--api-key", "k", "--scenario", "soak"}, exitUsage, "--scenario"},
		{"zero requests", []string{"--base-url", srv.URL, "--api-key", "k", "--requests", "0"}, exitUsage, "requests"},
		{"zero duration", []string{"--base-url", srv.URL, "--api-key", "k", "--duration", "0s"}, exitUsage, "duration"},
		{"unknown wait", []string{"--base-url", srv.URL, "--api-key", "k", "--wait", "sleep"}, exitUsage, "--wait"},
		{"stray argument", []string{"--base-url", srv.URL, "--api-key", "k", "extra"}, exitUsage, "unexpected argument"},
		{"set-up fails with wrong key", []string{"--base-url", srv.URL, "--api-key", "wrong", "--requests", "3"}, exitAPI, "status 401"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			creates.Store(0)
			code, out, errOut := runBenchForTest(t, nil, tt.args...)
			if code != tt.wantCode {
				t.Errorf("exit %d, want %d; stderr: %s", code, tt.wantCode, errOut)
			}
			if !strings.Contains(errOut, tt.wantErr) {
				t.Errorf("stderr %q does not mention %q", errOut, tt.wantErr)
			}
			if out != "" {
				t.Errorf("stdout = %q, want nothing on failure", out)
			}
			if creates.Load() != 0 {
				t.Errorf("server saw %d creates, want none", creates.Load())
			}
		})
	}
}

func TestBenchAllFailingExitsNonZero(t *testing.T) {
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	defer srv.Close()
	code, out, errOut := runBenchForTest(t, nil, "--base-url", srv.URL, "--api-key", "k", "--scenario", "create", "--requests", "4", "--concurrency", "1", "--json")
	if code != exitFailure {
		t.Errorf("exit %d, want %d", code, exitFailure)
	}
	if !strings.Contains(out, `"503":4`) {
		t.Errorf("report %q does not count four 503s", out)
	}
	if !strings.Contains(errOut, "no operation succeeded") {
		t.Errorf("stderr %q does not say nothing succeeded", errOut)
	}
}
