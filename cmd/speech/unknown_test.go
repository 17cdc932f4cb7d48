package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// newNewerServer answers every result call like a server on a newer
// contract: a status this module does not know and an extra field.
func newNewerServer(t *testing.T, status string) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			ID string `json:"id"`
		}
		json.NewDecoder(r.Body).Decode(&body)
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"id": body.ID, "status": status, "created": 1764000000.5,
			"model": "Chatterbox", "results": []any{}, "duration": 2.5})
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestCommandsShowTheUnknown(t *testing.T) {
	const id = "0b6f1f4e-8c1d-4e7a-9f3b-2a5c6d7e8f90"
	srv := newNewerServer(t, "CANCELLED")
	vars := map[string]string{"DISTRIBUTE_API_KEY": "k", "DISTRIBUTE_BASE_URL": srv.URL}
	tests := []struct {
		name           string
		args           []string
		code           int
		stdout, stderr string
	}{
		{"result shows extra fields", []string{"result", id}, exitOK, "extra     duration=2.5", ""},
		{"result --json keeps them", []string{"result", "--json", id}, exitOK, `"extra": {`, ""},
		// 2 s leaves time for the first poll, which shows the status.
		{"wait polls an unknown status until its timeout, and says so", []string{"wait", "--timeout", "2s", id}, exitTimeout,
			"", "CANCELLED after"},
		{"the note", []string{"wait", "--timeout", "2s", id}, exitTimeout, "", "(a status this client does not know: waiting on)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := runCLI(t, vars, false, tc.args...)
			if code != tc.code {
				t.Errorf("got exit %d, want %d\nstdout: %s\nstderr: %s", code, tc.code, stdout, stderr)
			}
			if !strings.Contains(stdout, tc.stdout) {
				t.Errorf("stdout %q does not hold %q", stdout, tc.stdout)
			}
			if !strings.Contains(stderr, tc.stderr) {
				t.Errorf("stderr %q does not hold %q", stderr, tc.stderr)
			}
		})
	}
}
