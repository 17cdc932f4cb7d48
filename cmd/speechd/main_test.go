package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/distributeai/asyncspeech/internal/logtest"
)

func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestParseConfig(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		env     map[string]string
		check   func(t *testing.T, cfgAddr, store string, keys []string, workers int, lease time.Duration, strict bool)
		wantErr string
	}{
		{name: "defaults", check: func(t *testing.T, addr, store string, keys []string, workers int, lease time.Duration, strict bool) {
			if addr != "127.0.0.1:8080" || store != "sqlite" || len(keys) != 0 || strict {
				t.Errorf("got addr %q store %q keys %q strict %v, want the documented defaults", addr, store, keys, strict)
			}
		}},
		{name: "environment", env: map[string]string{"SPEECHD_ADDR": ":0", "SPEECHD_STORE": "memory", "SPEECHD_KEYS": "a, b", "SPEECHD_WORKERS": "3", "SPEECHD_LEASE": "5s", "SPEECHD_STRICT_RESPONSES": "true"},
			check: func(t *testing.T, addr, store string, keys []string, workers int, lease time.Duration, strict bool) {
				if addr != ":0" || store != "memory" || !slices.Equal(keys, []string{"a", "b"}) || workers != 3 || lease != 5*time.Second || !strict {
					t.Errorf("got addr %q store %q keys %q workers %d lease %v strict %v, want the environment's", addr, store, keys, workers, lease, strict)
				}
			}},
		{name: "flags win", args: []string{"--addr", "127.0.0.1:9", "--workers", "7"}, env: map[string]string{"SPEECHD_ADDR": ":0", "SPEECHD_WORKERS": "3"},
			check: func(t *testing.T, addr, store string, keys []string, workers int, lease time.Duration, strict bool) {
				if addr != "127.0.0.1:9" || workers != 7 {
					t.Errorf("got addr %q workers %d, want the flags' 127.0.0.1:9 and 7", addr, workers)
				}
			}},
		{name: "bad env value", env: map[string]string{"SPEECHD_WORKERS": "many"}, wantErr: "SPEECHD_WORKERS"},
		{name: "bad flag value", args: []string{"--lease", "soon"}, wantErr: "lease"},
		{name: "stray argument", args: []string{"serve"}, wantErr: "unexpected arguments"},
		{name: "bad procs", args: []string{"--procs", "0"}, wantErr: "--procs"},
		{name: "engine nice past the lowest", args: []string{"--engine-nice", "20"}, wantErr: "--engine-nice 20: at most 19"},
		{name: "bad procs from the environment", env: map[string]string{"SPEECHD_PROCS": "many"}, wantErr: "--procs"},
		{name: "bad memory limit", args: []string{"--memory-limit", "lots"}, wantErr: "--memory-limit"},
		{name: "unknown flag", args: []string{"--port", "1"}, wantErr: "port"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg, _, err := parseConfig(tc.args, env(tc.env), io.Discard, io.Discard)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err: got %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("err: %v", err)
			}
			tc.check(t, cfg.Addr, cfg.Store, cfg.Keys, cfg.Workers, cfg.Lease, cfg.StrictResponses)
		})
	}
}

func TestEnvName(t *testing.T) {
	if got := envName("public-url"); got != "SPEECHD_PUBLIC_URL" {
		t.Errorf("envName: got %q, want SPEECHD_PUBLIC_URL", got)
	}
}

// TestValidateFlag: --validate (default true, SPEECHD_VALIDATE) turns the
// spec validator off only when set false; bench/compare.sh finds it in
// --help.
func TestValidateFlag(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		env      map[string]string
		wantSkip bool
	}{
		{"default validates", nil, nil, false},
		{"flag false", []string{"--validate=false"}, nil, true},
		{"flag true", []string{"--validate"}, nil, false},
		{"env false", nil, map[string]string{"SPEECHD_VALIDATE": "false"}, true},
		{"flag wins over env", []string{"--validate=true"}, map[string]string{"SPEECHD_VALIDATE": "false"}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg, _, err := parseConfig(tc.args, env(tc.env), io.Discard, io.Discard)
			if err != nil {
				t.Fatalf("parseConfig(%q): %v", tc.args, err)
			}
			if cfg.SkipValidation != tc.wantSkip {
				t.Errorf("SkipValidation: got %v, want %v", cfg.SkipValidation, tc.wantSkip)
			}
		})
	}
	var help bytes.Buffer
	if _, _, err := parseConfig([]string{"--help"}, env(nil), &help, io.Discard); err == nil {
		t.Fatalf("--help: got nil error, want flag.ErrHelp")
	}
	if !strings.Contains(help.String(), "-validate") {
		t.Errorf("--help lacks -validate:\n%s", help.String())
	}
}

// TestRunServesAndStops runs the command's run with a context the test
// cancels (what SIGTERM does through signal.NotifyContext): it must log the
// real address, serve, and exit 0.
func TestRunServesAndStops(t *testing.T) {
	for _, level := range []string{"info", "error"} {
		t.Run("log-level "+level, func(t *testing.T) { runServesAndStops(t, level) })
	}
}

// runServesAndStops starts speechd at a log level; the "listening on" line
// scripts wait for must appear at any level.
func runServesAndStops(t *testing.T, level string) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	logs := &logtest.Buffer{}
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"--addr", "127.0.0.1:0", "--store", "memory", "--engine", "tone", "--log-format", "json", "--log-level", level}, env(nil), io.Discard, logs)
	}()
	re := regexp.MustCompile(`listening on (http://127\.0\.0\.1:[0-9]+)`)
	var base string
	for deadline := time.Now().Add(10 * time.Second); base == "" && time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if m := re.FindStringSubmatch(logs.String()); m != nil {
			base = m[1]
		}
	}
	if base == "" {
		t.Fatalf("no 'listening on' line:\n%s", logs)
	}
	resp, err := http.Get(base + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("healthz: got %d, want 200", resp.StatusCode)
	}
	cancel()
	select {
	case code := <-done:
		if code != exitOK {
			t.Fatalf("exit code: got %d, want 0\n%s", code, logs)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("run did not return within 15s of cancel")
	}
}

func TestRunUsageErrors(t *testing.T) {
	for _, args := range [][]string{{"--log-format", "xml"}, {"--nope"}, {"--log-level", "loud"}} {
		if code := run(context.Background(), args, env(nil), io.Discard, io.Discard); code != exitUsage {
			t.Errorf("run %q: exit %d, want %d", args, code, exitUsage)
		}
	}
	if code := run(context.Background(), []string{"--store", "memory", "--addr", "127.0.0.1:0", "--role", "boss"}, env(nil), io.Discard, io.Discard); code != exitError {
		t.Errorf("bad role: exit %d, want %d", code, exitError)
	}
}

// TestHelpGoesToStdout: help asked for is the command's output (stdout,
// exit 0); the usage after a bad flag is a diagnostic (stderr, exit 2).
func TestHelpGoesToStdout(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		wantCode int
	}{
		{"--help", []string{"--help"}, exitOK},
		{"-h", []string{"-h"}, exitOK},
		{"-help", []string{"-help"}, exitOK},
		{"unknown flag", []string{"--nope"}, exitUsage},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), tc.args, env(nil), &stdout, &stderr)
			if code != tc.wantCode {
				t.Fatalf("got exit %d, want %d\nstdout: %q\nstderr: %q", code, tc.wantCode, stdout.String(), stderr.String())
			}
			help, diag := &stdout, &stderr
			if tc.wantCode != exitOK {
				help, diag = &stderr, &stdout
			}
			if !strings.Contains(help.String(), "Usage: speechd") {
				t.Errorf("got %q, want the usage there", help.String())
			}
			if diag.Len() != 0 {
				t.Errorf("got %q on the other stream, want nothing", diag.String())
			}
		})
	}
}
