package auto

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestNew(t *testing.T) {
	// A real executable file stands in for espeak-ng, so espeak.New's own
	// check passes without the program installed.
	fake := filepath.Join(t.TempDir(), "espeak-ng")
	if err := os.WriteFile(fake, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	found := func(string) (string, error) { return fake, nil }
	missing := func(file string) (string, error) { return "", errors.New("executable file not found in $PATH") }

	tests := []struct {
		name     string
		engine   string
		lookPath func(string) (string, error)
		openai   string
		want     string // engine Name(); "" means an error is expected
		errText  string
	}{
		{name: "auto with espeak-ng", engine: "auto", lookPath: found, want: "espeak"},
		{name: "auto without espeak-ng", engine: "auto", lookPath: missing, want: "tone"},
		{name: "empty means auto", engine: "", lookPath: missing, want: "tone"},
		{name: "case and spaces ignored", engine: " Auto ", lookPath: found, want: "espeak"},
		{name: "explicit espeak", engine: "espeak", lookPath: found, want: "espeak"},
		{name: "explicit espeak missing fails", engine: "espeak", lookPath: missing, errText: "not found"},
		{name: "tone even with espeak-ng", engine: "tone", lookPath: found, want: "tone"},
		{name: "openai", engine: "openai", lookPath: missing, openai: "http://127.0.0.1:8004", want: "openai"},
		{name: "openai without a base URL fails", engine: "openai", lookPath: missing, errText: "base URL"},
		{name: "unknown", engine: "festival", lookPath: found, errText: "unknown"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			opts := Options{LookPath: tc.lookPath}
			opts.OpenAI.BaseURL = tc.openai
			e, err := New(tc.engine, opts)
			if tc.want == "" {
				if err == nil || !strings.Contains(err.Error(), tc.errText) {
					t.Errorf("got %v, %v; want an error containing %q", e, err, tc.errText)
				}
				return
			}
			if err != nil {
				t.Fatalf("New(%q): %v", tc.engine, err)
			}
			if got := e.Name(); got != tc.want {
				t.Errorf("got engine %q, want %q", got, tc.want)
			}
		})
	}
}

func TestResolveReasonNamesTheTestEngine(t *testing.T) {
	missing := func(string) (string, error) { return "", errors.New("not found") }
	c, err := Resolve("auto", Options{LookPath: missing})
	if err != nil {
		t.Fatalf("Resolve: %v", err)
	}
	if c.Name != Tone || !strings.Contains(c.Reason, "TEST engine") {
		t.Errorf("got %+v, want tone with a reason that says it is a test engine", c)
	}
}

func TestResolveUsesConfiguredBinary(t *testing.T) {
	var asked string
	look := func(file string) (string, error) { asked = file; return "/opt/bin/" + file, nil }
	opts := Options{LookPath: look}
	opts.Espeak.Binary = "espeak-ng-custom"
	c, err := Resolve("auto", opts)
	if err != nil {
		t.Fatalf("Resolve: %v", err)
	}
	if asked != "espeak-ng-custom" || c.Path != "/opt/bin/espeak-ng-custom" {
		t.Errorf("got lookup of %q and path %q, want espeak-ng-custom and /opt/bin/espeak-ng-custom", asked, c.Path)
	}
}
