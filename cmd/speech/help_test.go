package main

import (
	"bytes"
	"context"
	"sort"
	"strings"
	"testing"
)

// TestHelpGoesToStdout runs every command with every way of asking for
// help: the usage is the command's output (stdout, exit 0, nothing on
// stderr), while the usage printed after a bad flag is a diagnostic
// (stderr, exit 2, nothing on stdout).
func TestHelpGoesToStdout(t *testing.T) {
	type tc struct {
		name     string
		args     []string
		wantCode int
	}
	tests := []tc{
		{"speech -h", []string{"-h"}, exitOK},
		{"speech --help", []string{"--help"}, exitOK},
		{"speech help", []string{"help"}, exitOK},
		{"speech unknown command", []string{"nope"}, exitUsage},
	}
	var names []string
	for name := range commands() {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		tests = append(tests,
			tc{"speech " + name + " -h", []string{name, "-h"}, exitOK},
			tc{"speech " + name + " --help", []string{name, "--help"}, exitOK},
			tc{"speech help " + name, []string{"help", name}, exitOK},
			tc{"speech " + name + " bad flag", []string{name, "--no-such-flag"}, exitUsage},
		)
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			// The environment holds a key: help must not need one, nor print it.
			vars := map[string]string{"DISTRIBUTE_API_KEY": "secret-key-from-env", "DISTRIBUTE_BASE_URL": "http://127.0.0.1:1"}
			code := runSpeech(context.Background(), vars, &stdout, &stderr, tc.args...)
			if code != tc.wantCode {
				t.Fatalf("got exit %d, want %d\nstdout: %q\nstderr: %q", code, tc.wantCode, stdout.String(), stderr.String())
			}
			help, diag := &stdout, &stderr
			if tc.wantCode != exitOK {
				help, diag = &stderr, &stdout
			}
			if !strings.Contains(strings.ToLower(help.String()), "usage: speech") {
				t.Errorf("got %q, want the usage there", help.String())
			}
			if diag.Len() != 0 {
				t.Errorf("got %q on the other stream, want nothing", diag.String())
			}
			if strings.Contains(stdout.String()+stderr.String(), "secret-key-from-env") {
				t.Error("got the API key from the environment in the output, want it never printed")
			}
		})
	}
}
