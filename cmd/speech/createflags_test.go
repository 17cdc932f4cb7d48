package main

import (
	"context"
	"strings"
	"testing"

	"github.com/distributeai/asyncspeech/api/server/auth"
	"github.com/distributeai/asyncspeech/api/speechtest"
	"github.com/distributeai/asyncspeech/api/task"
)

// TestCreateFlagsReachTheServer runs `speech create` and `speech say` with
// every create flag against the real server in-process and reads the
// parameters the server stored for the task.
func TestCreateFlagsReachTheServer(t *testing.T) {
	srv := speechtest.NewServer(t)
	vars := map[string]string{"DISTRIBUTE_API_KEY": srv.Key, "DISTRIBUTE_BASE_URL": srv.URL}
	out := t.TempDir() + "/out.wav"
	tests := []struct {
		name string
		args []string
		want task.Params
	}{
		{"create with every flag", []string{"create", "--voice", "nora", "--temperature", "0.3", "--exaggeration", "0.9", "--cfg-weight", "0.1", "--stream", "Hello there"},
			task.Params{Input: "Hello there", Voice: "nora", Stream: true, Temperature: 0.3, Exaggeration: 0.9, CfgWeight: 0.1}},
		{"create with none: the server's defaults", []string{"create", "Hello there"},
			task.Params{Input: "Hello there", Voice: "leo", Temperature: 0.8, Exaggeration: 0.5, CfgWeight: 0.5}},
		{"create with zeros: sent, not dropped", []string{"create", "--temperature", "0", "--exaggeration", "0", "--cfg-weight", "0", "Hello there"},
			task.Params{Input: "Hello there", Voice: "leo", Temperature: 0, Exaggeration: 0, CfgWeight: 0}},
		{"say with every flag", []string{"say", "-o", out, "--json", "--voice", "leo", "--temperature", "1", "--exaggeration", "0.2", "--cfg-weight", "0.7", "--stream", "Hello there"},
			task.Params{Input: "Hello there", Voice: "leo", Stream: true, Temperature: 1, Exaggeration: 0.2, CfgWeight: 0.7}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := runCLI(t, vars, false, tc.args...)
			if code != exitOK {
				t.Fatalf("exit code %d, want 0 (stderr %q)", code, stderr)
			}
			id := strings.TrimSpace(stdout)
			if tc.args[0] == "say" {
				i := strings.Index(stdout, `"id":"`)
				if i < 0 {
					i = strings.Index(stdout, `"id": "`) + 1
				}
				id = stdout[i+6 : i+6+36]
			}
			stored, err := srv.Store.Get(context.Background(), id, auth.OwnerOf(srv.Key))
			if err != nil {
				t.Fatalf("Get(%q): %v (stdout %q)", id, err, stdout)
			}
			if stored.Params != tc.want {
				t.Errorf("got stored params %+v, want %+v", stored.Params, tc.want)
			}
		})
	}
}

func TestCreateFlagsRefuseOutOfRange(t *testing.T) {
	for _, args := range [][]string{
		{"create", "--temperature", "1.5", "Hello"},
		{"create", "--cfg-weight", "-0.1", "Hello"},
		{"say", "-o", "x.wav", "--exaggeration", "NaN", "Hello"},
		{"create", "--temperature", "warm", "Hello"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			code, _, stderr := runCLI(t, map[string]string{"DISTRIBUTE_API_KEY": "k", "DISTRIBUTE_BASE_URL": "http://127.0.0.1:1"}, false, args...)
			if code != exitUsage || !strings.Contains(stderr, "want a number from 0 to 1") {
				t.Errorf("got exit %d, stderr %q; want a usage error naming the range", code, stderr)
			}
		})
	}
}

func TestIntelligibilityParamsFlag(t *testing.T) {
	for _, p := range []string{"0.5", "a,b,c", "0.1,0.2,1.5", "0.1,0.2"} {
		t.Run(p, func(t *testing.T) {
			code, _, stderr := runCLI(t, nil, false, "bench", "--scenario", "intelligibility", "--params", p)
			if code != exitUsage || !strings.Contains(stderr, "want three numbers from 0 to 1") {
				t.Errorf("got exit %d, stderr %q; want a usage error", code, stderr)
			}
		})
	}
}
