package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// specVariant writes openapi.json with one replacement applied (none when
// old is empty) to a temporary file and returns its path and contents.
func specVariant(t *testing.T, old, new string) (string, []byte) {
	t.Helper()
	b, err := os.ReadFile("../../openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	if old != "" {
		if !bytes.Contains(b, []byte(old)) {
			t.Fatalf("openapi.json has no %q", old)
		}
		b = bytes.Replace(b, []byte(old), []byte(new), 1)
	}
	p := filepath.Join(t.TempDir(), "openapi.json")
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p, b
}

func runSpecCLI(t *testing.T, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	e := &env{stdin: strings.NewReader(stdin), stdout: &out, stderr: &errOut, getenv: func(string) string { return "" }}
	code = run(context.Background(), e, args)
	return code, out.String(), errOut.String()
}

func TestSpecDiff(t *testing.T) {
	same, sameBytes := specVariant(t, "", "")
	lower, _ := specVariant(t, `"maxLength": 4096`, `"maxLength": 1000`)
	raise, raiseBytes := specVariant(t, `"maxLength": 4096`, `"maxLength": 8192`)
	notJSON := filepath.Join(t.TempDir(), "broken.json")
	if err := os.WriteFile(notJSON, []byte(`{"openapi": "3.0.3", "paths": `), 0o644); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/vendor/openapi.json" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write(raiseBytes)
	}))
	defer srv.Close()
	pointer := "/paths/~1async~1speech~1create/post/requestBody/content/application~1json/schema/properties/input/maxLength"

	tests := []struct {
		name   string
		stdin  string
		args   []string
		code   int
		stdout []string // substrings of stdout
		stderr string   // substring of stderr
	}{
		{"identical files", "", []string{"spec", "diff", same, same}, exitOK, []string{"no changes"}, ""},
		{"tighter bound breaks clients", "", []string{"spec", "diff", same, lower}, exitFailure,
			[]string{"breaking", "POST /async/speech/create (asyncSpeechCreate)", pointer, "maxLength lowered from 4096 to 1000", "breaks Go clients of this module"}, ""},
		{"looser bound is a warning for servers", "", []string{"spec", "diff", same, raise}, exitOK,
			[]string{"warning", pointer, "breaks servers implementing the spec (speechd)"}, ""},
		{"--fail-on warning fails on it", "", []string{"spec", "diff", "--fail-on", "warning", same, raise}, exitFailure, []string{"warning"}, ""},
		{"NEW from an http URL", "", []string{"spec", "diff", same, srv.URL + "/vendor/openapi.json"}, exitOK, []string{"maxLength raised"}, ""},
		{"OLD from standard input", string(sameBytes), []string{"spec", "diff", "-", lower}, exitFailure, []string{"maxLength lowered"}, ""},
		{"markdown", "", []string{"spec", "diff", "--markdown", same, lower}, exitFailure,
			[]string{"| level | operation | JSON pointer | change | breaks |", "| **breaking** | POST /async/speech/create"}, ""},
		{"missing file", "", []string{"spec", "diff", same, filepath.Join(t.TempDir(), "nope.json")}, exitUsage, nil, "nope.json"},
		{"not a document", "", []string{"spec", "diff", same, notJSON}, exitUsage, nil, "broken.json"},
		{"URL answering 404", "", []string{"spec", "diff", same, srv.URL + "/gone.json"}, exitUsage, nil, "HTTP 404"},
		{"empty standard input", "", []string{"spec", "diff", "-", same}, exitUsage, nil, "read -: empty"},
		{"both from standard input", "", []string{"spec", "diff", "-", "-"}, exitUsage, nil, "only one of OLD and NEW"},
		{"one argument", "", []string{"spec", "diff", same}, exitUsage, nil, "want 2 arguments"},
		{"unknown level", "", []string{"spec", "diff", "--fail-on", "fatal", same, same}, exitUsage, nil, "--fail-on"},
		{"unknown subcommand", "", []string{"spec", "merge", same, same}, exitUsage, nil, `unknown subcommand "merge"`},
		{"help goes to stdout", "", []string{"spec", "diff", "-h"}, exitOK, []string{"usage: speech spec diff", "Exit status: 0"}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := runSpecCLI(t, tc.stdin, tc.args...)
			if code != tc.code {
				t.Errorf("got exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tc.code, stdout, stderr)
			}
			for _, s := range tc.stdout {
				if !strings.Contains(stdout, s) {
					t.Errorf("stdout does not hold %q:\n%s", s, stdout)
				}
			}
			if !strings.Contains(stderr, tc.stderr) {
				t.Errorf("stderr does not hold %q:\n%s", tc.stderr, stderr)
			}
		})
	}
}

func TestSpecDiffJSON(t *testing.T) {
	old, _ := specVariant(t, "", "")
	lower, _ := specVariant(t, `"maxLength": 4096`, `"maxLength": 1000`)
	code, stdout, stderr := runSpecCLI(t, "", "spec", "diff", "--json", old, lower)
	if code != exitFailure {
		t.Fatalf("got exit %d, want %d; stderr: %s", code, exitFailure, stderr)
	}
	var got struct {
		Summary map[string]int `json:"summary"`
		Changes []struct {
			Rule, Level, Method, Path, OperationID, Pointer, Message string
			Breaks                                                   []struct{ Party, Reason string }
		} `json:"changes"`
	}
	if err := json.Unmarshal([]byte(stdout), &got); err != nil {
		t.Fatalf("stdout is not JSON: %v\n%s", err, stdout)
	}
	if got.Summary["breaking"] != 1 || len(got.Changes) != 1 {
		t.Fatalf("got summary %v and %d changes, want 1 breaking change:\n%s", got.Summary, len(got.Changes), stdout)
	}
	c := got.Changes[0]
	if c.Level != "breaking" || c.Method != "POST" || c.Path != "/async/speech/create" || c.OperationID != "asyncSpeechCreate" ||
		!strings.HasSuffix(c.Pointer, "/properties/input/maxLength") || len(c.Breaks) == 0 || c.Breaks[0].Party != "go-client" {
		t.Errorf("got change %+v, want the lowered maxLength of create's input, breaking go-client first", c)
	}
}
