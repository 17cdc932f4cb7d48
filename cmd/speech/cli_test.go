package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
)

// cliServer is a scripted server of the contract for the CLI tests. What a
// task goes through depends on its text: "fail" ends in ERROR, "slow" stays
// QUEUED forever, anything else walks QUEUED → PROCESSING → COMPLETED, one
// status per result call. Text shorter than 2 characters is refused with
// 400, like the contract says.
type cliServer struct {
	*httptest.Server
	mu    sync.Mutex
	tasks map[string]*cliTask
	// creates and results count the API calls received, so tests can
	// check that a command failed before it spent a (billed) request.
	creates, results int
}

// calls returns how many create and result requests the server received.
func (s *cliServer) calls() (creates, results int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.creates, s.results
}

type cliTask struct {
	steps []string
	polls int
}

func newCLIServer(t *testing.T) *cliServer {
	t.Helper()
	s := &cliServer{tasks: map[string]*cliTask{}}
	mux := http.NewServeMux()
	reply := func(w http.ResponseWriter, status int, v any) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		json.NewEncoder(w).Encode(v)
	}
	mux.HandleFunc("POST /async/speech/create", func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.creates++
		s.mu.Unlock()
		if r.Header.Get("Authorization") != "cli-key" {
			reply(w, http.StatusUnauthorized, map[string]string{"message": "bad API key"})
			return
		}
		var body struct{ Input, Model, Voice string }
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil || len(body.Input) < 2 {
			reply(w, http.StatusBadRequest, map[string]string{"message": "input: must be at least 2 characters"})
			return
		}
		steps := []string{"QUEUED", "PROCESSING", "COMPLETED"}
		switch {
		case strings.Contains(body.Input, "fail"):
			steps = []string{"QUEUED", "PROCESSING", "ERROR"}
		case strings.Contains(body.Input, "slow"):
			steps = []string{"QUEUED"}
		}
		id := uuid.NewString()
		s.mu.Lock()
		s.tasks[id] = &cliTask{steps: steps}
		s.mu.Unlock()
		reply(w, http.StatusOK, map[string]string{"id": id})
	})
	mux.HandleFunc("POST /async/speech/result", func(w http.ResponseWriter, r *http.Request) {
		var body struct{ ID string }
		json.NewDecoder(r.Body).Decode(&body)
		s.mu.Lock()
		s.results++
		task, ok := s.tasks[body.ID]
		status := ""
		if ok {
			status = task.steps[min(task.polls, len(task.steps)-1)]
			task.polls++
		}
		s.mu.Unlock()
		if !ok {
			// The reference server's wording.
			reply(w, http.StatusNotFound, map[string]string{"message": "task " + body.ID + " not found"})
			return
		}
		resp := map[string]any{"id": body.ID, "status": status, "created": 1764000000.25, "model": "Chatterbox", "results": []any{}}
		if status == "COMPLETED" || status == "ERROR" {
			resp["finished"] = 1764000001.75
		}
		if status == "COMPLETED" {
			resp["results"] = []any{map[string]string{"url": s.URL + "/files/" + body.ID + ".wav"}}
		}
		reply(w, http.StatusOK, resp)
	})
	mux.HandleFunc("GET /files/{name}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "audio/wav")
		w.Write(silentWAV(400))
	})
	// Started after s.Server is set: the handlers read s.URL.
	s.Server = httptest.NewUnstartedServer(mux)
	s.Start()
	t.Cleanup(s.Close)
	return s
}

// silentWAV returns a mono 16-bit 8 kHz WAV of n silent samples.
func silentWAV(n int) []byte {
	var b bytes.Buffer
	put := func(v any) { binary.Write(&b, binary.LittleEndian, v) }
	b.WriteString("RIFF")
	put(uint32(36 + 2*n))
	b.WriteString("WAVEfmt ")
	for _, v := range []any{uint32(16), uint16(1), uint16(1), uint32(8000), uint32(16000), uint16(2), uint16(16)} {
		put(v)
	}
	b.WriteString("data")
	put(uint32(2 * n))
	b.Write(make([]byte, 2*n))
	return b.Bytes()
}

// checkWAV fails the test unless b is a RIFF/WAVE file with a data chunk.
func checkWAV(t *testing.T, b []byte) {
	t.Helper()
	if len(b) < 44 || string(b[:4]) != "RIFF" || string(b[8:12]) != "WAVE" {
		t.Fatalf("got %d bytes starting %q, want a RIFF/WAVE file", len(b), b[:min(len(b), 12)])
	}
	if size := binary.LittleEndian.Uint32(b[4:8]); int(size) != len(b)-8 {
		t.Errorf("RIFF size field %d, want %d", size, len(b)-8)
	}
	for off := 12; off+8 <= len(b); {
		id, size := string(b[off:off+4]), int(binary.LittleEndian.Uint32(b[off+4:off+8]))
		if id == "data" {
			if size > len(b)-off-8 {
				t.Fatalf("data chunk of %d bytes overruns the %d-byte file", size, len(b))
			}
			return
		}
		off += 8 + size + size%2
	}
	t.Fatal("no data chunk")
}

// runCLI runs the command in-process with its own streams and environment.
func runCLI(t *testing.T, vars map[string]string, terminal bool, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	e := &env{stdin: strings.NewReader("text from stdin"), stdout: &out, stderr: &errOut,
		getenv: func(k string) string { return vars[k] }, isTerminal: terminal}
	code = run(context.Background(), e, args)
	return code, out.String(), errOut.String()
}

func TestClientCommands(t *testing.T) {
	srv := newCLIServer(t)
	vars := map[string]string{"DISTRIBUTE_API_KEY": "cli-key", "DISTRIBUTE_BASE_URL": srv.URL}
	dir := t.TempDir()
	var uuidLine = func(s string) bool {
		s = strings.TrimSpace(s)
		return len(s) == 36 && s[14] == '4' && !strings.ContainsAny(s, " \n")
	}
	tests := []struct {
		name       string
		vars       map[string]string
		args       []string
		wantCode   int
		wantStdout func(string) bool
		wantStderr string
	}{
		{"create prints the id", vars, []string{"create", "Hello there", "--voice", "nora"}, exitOK, uuidLine, ""},
		{"create --json", vars, []string{"create", "--json", "Hello"}, exitOK, func(s string) bool {
			var v struct{ ID string }
			return json.Unmarshal([]byte(s), &v) == nil && len(v.ID) == 36
		}, ""},
		{"create reads stdin for -", vars, []string{"create", "-"}, exitOK, uuidLine, ""},
		{"create refused by the server is an API error", vars, []string{"create", "x"}, exitAPI, isEmpty, "speech create: input: must be at least 2 characters (HTTP 400)\n"},
		{"flags win over the environment", vars, []string{"create", "--api-key", "wrong", "Hello"}, exitAPI, isEmpty, "HTTP 401"},
		{"unreachable server is an API error", map[string]string{"DISTRIBUTE_API_KEY": "cli-key", "DISTRIBUTE_BASE_URL": "http://127.0.0.1:1"}, []string{"result", "--timeout", "5s", "00000000-0000-4000-8000-000000000000"}, exitAPI, isEmpty, "connect"},
		{"result of an unknown task", vars, []string{"result", "00000000-0000-4000-8000-000000000000"}, exitAPI, isEmpty, "speech result: task 00000000-0000-4000-8000-000000000000 not found (HTTP 404)\n"},
		{"no API key", map[string]string{"DISTRIBUTE_BASE_URL": srv.URL}, []string{"create", "Hello"}, exitUsage, isEmpty, "no API key"},
		{"create without text", vars, []string{"create"}, exitUsage, isEmpty, "want one argument, got 0"},
		{"result with two ids", vars, []string{"result", "a", "b"}, exitUsage, isEmpty, "want one argument, got 2"},
		{"unknown flag", vars, []string{"wait", "--bogus", "a"}, exitUsage, isEmpty, "flag provided but not defined"},
		{"bad duration", vars, []string{"wait", "--timeout", "soon", "a"}, exitUsage, isEmpty, "invalid value"},
		{"say without -o", vars, []string{"say", "Hello"}, exitUsage, isEmpty, "-o FILE is required"},
		{"bad base URL", map[string]string{"DISTRIBUTE_API_KEY": "k"}, []string{"create", "--base-url", "nowhere", "Hello"}, exitUsage, isEmpty, "not an absolute"},
		{"say into a missing directory", vars, []string{"say", "-o", filepath.Join(dir, "no", "such", "dir.wav"), "Hello"}, exitUsage, isEmpty, "directory " + filepath.Join(dir, "no", "such") + " does not exist\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := runCLI(t, tc.vars, false, tc.args...)
			if code != tc.wantCode {
				t.Errorf("exit code %d, want %d (stderr %q)", code, tc.wantCode, stderr)
			}
			if !tc.wantStdout(stdout) {
				t.Errorf("unexpected stdout %q", stdout)
			}
			if !strings.Contains(stderr, tc.wantStderr) {
				t.Errorf("stderr %q does not contain %q", stderr, tc.wantStderr)
			}
		})
	}
}

func isEmpty(s string) bool { return s == "" }

func TestWaitAndSay(t *testing.T) {
	srv := newCLIServer(t)
	vars := map[string]string{"DISTRIBUTE_API_KEY": "cli-key", "DISTRIBUTE_BASE_URL": srv.URL}
	create := func(text string) string {
		t.Helper()
		code, out, stderr := runCLI(t, vars, false, "create", text)
		if code != exitOK {
			t.Fatalf("create %q: exit %d: %s", text, code, stderr)
		}
		return strings.TrimSpace(out)
	}

	t.Run("wait for a task that completes", func(t *testing.T) {
		id := create("Hello")
		code, out, stderr := runCLI(t, vars, false, "wait", id)
		if code != exitOK {
			t.Fatalf("exit %d, want 0 (stderr %q)", code, stderr)
		}
		for _, want := range []string{"id        " + id, "status    COMPLETED", "created   2025-11-24T16:00:00.250Z", "finished  2025-11-24T16:00:01.750Z", "result    " + srv.URL + "/files/" + id + ".wav"} {
			if !strings.Contains(out, want+"\n") {
				t.Errorf("stdout %q lacks line %q", out, want)
			}
		}
		if got := statusLines(stderr); got != "QUEUED PROCESSING COMPLETED" {
			t.Errorf("stderr shows statuses %q, want QUEUED PROCESSING COMPLETED (stderr %q)", got, stderr)
		}
	})
	t.Run("wait --json for a task that fails exits 4", func(t *testing.T) {
		id := create("please fail")
		code, out, _ := runCLI(t, vars, false, "wait", "--json", id)
		var task struct{ ID, Status string }
		if err := json.Unmarshal([]byte(out), &task); err != nil || task.ID != id || task.Status != "ERROR" {
			t.Errorf("stdout %q, want the ERROR task as JSON (%v)", out, err)
		}
		if code != exitTaskError {
			t.Errorf("exit %d, want %d", code, exitTaskError)
		}
	})
	t.Run("wait timeout exits 5", func(t *testing.T) {
		id := create("slow one")
		start := time.Now()
		// Long enough for a first poll, whose QUEUED the message names; far
		// shorter than wait's default of 5 minutes.
		code, _, stderr := runCLI(t, vars, false, "wait", "--timeout", "2s", id)
		if code != exitTimeout || !strings.Contains(stderr, "still QUEUED") {
			t.Errorf("exit %d stderr %q, want %d and the task still QUEUED", code, stderr, exitTimeout)
		}
		if d := time.Since(start); d > 15*time.Second {
			t.Errorf("took %v with --timeout 2s", d)
		}
	})
	t.Run("result reports any status and exits 0", func(t *testing.T) {
		id := create("please fail")
		code, out, _ := runCLI(t, vars, false, "result", "--json", id)
		var task struct{ Status string }
		if code != exitOK || json.Unmarshal([]byte(out), &task) != nil || task.Status != "QUEUED" {
			t.Errorf("exit %d stdout %q, want 0 and the QUEUED task", code, out)
		}
	})
	t.Run("say writes a WAV file, plain lines when piped", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "out.wav")
		code, out, stderr := runCLI(t, vars, false, "say", "Hello world", "-o", path, "--voice", "leo")
		if code != exitOK {
			t.Fatalf("exit %d (stderr %q)", code, stderr)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		checkWAV(t, b)
		if strings.Contains(out, "\r") || statusLines(out) != "QUEUED PROCESSING COMPLETED" || !strings.Contains(out, "wrote "+path+" (844 bytes)") {
			t.Errorf("stdout %q, want one line per status and the file written", out)
		}
	})
	t.Run("say on a terminal keeps one live line", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "out.wav")
		code, out, stderr := runCLI(t, vars, true, "say", "Hello", "-o", path)
		if code != exitOK {
			t.Fatalf("exit %d (stderr %q)", code, stderr)
		}
		if !strings.Contains(out, "\rtask ") || !strings.Contains(out, "COMPLETED") || strings.Count(out, "\n") != 2 {
			t.Errorf("stdout %q, want \\r-updated status line then the final line", out)
		}
	})
	t.Run("say -o - writes the audio to stdout", func(t *testing.T) {
		code, out, stderr := runCLI(t, vars, false, "say", "-o", "-", "Hello")
		if code != exitOK {
			t.Fatalf("exit %d (stderr %q)", code, stderr)
		}
		checkWAV(t, []byte(out))
		if statusLines(stderr) != "QUEUED PROCESSING COMPLETED" {
			t.Errorf("stderr %q, want the status lines", stderr)
		}
	})
	t.Run("say --json", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "out.wav")
		code, out, _ := runCLI(t, vars, false, "say", "--json", "-o", path, "Hello")
		var v struct {
			Status string
			Files  []string
		}
		if code != exitOK || json.Unmarshal([]byte(out), &v) != nil || v.Status != "COMPLETED" || len(v.Files) != 1 || v.Files[0] != path {
			t.Errorf("exit %d stdout %q, want the COMPLETED task with files [%s]", code, out, path)
		}
	})
	t.Run("say of a failing task exits 4 and writes nothing", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "out.wav")
		code, _, _ := runCLI(t, vars, false, "say", "fail please", "-o", path)
		if _, err := os.Stat(path); code != exitTaskError || !errors.Is(err, os.ErrNotExist) {
			t.Errorf("exit %d, file error %v; want %d and no file", code, err, exitTaskError)
		}
	})
}

// statusLines returns the statuses named in "task ID STATUS after Ns" lines.
func statusLines(s string) string {
	var got []string
	for _, line := range strings.Split(s, "\n") {
		f := strings.Fields(line)
		if len(f) >= 4 && f[0] == "task" && f[3] == "after" {
			got = append(got, f[2])
		}
	}
	return strings.Join(got, " ")
}

// TestBinary builds the real command and runs it as a user would.
func TestBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary; skipped with -short")
	}
	bin := filepath.Join(t.TempDir(), "speech")
	build := exec.Command("go", "build", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	srv := newCLIServer(t)
	dir := t.TempDir()
	speech := func(args ...string) (int, string, string) {
		t.Helper()
		cmd := exec.Command(bin, args...)
		cmd.Env = append(os.Environ(), "DISTRIBUTE_API_KEY=cli-key", "DISTRIBUTE_BASE_URL="+srv.URL)
		var out, errOut bytes.Buffer
		cmd.Stdout, cmd.Stderr, cmd.Dir = &out, &errOut, dir
		err := cmd.Run()
		var exitErr *exec.ExitError
		if err != nil && !errors.As(err, &exitErr) {
			t.Fatalf("run %v: %v", args, err)
		}
		return cmd.ProcessState.ExitCode(), out.String(), errOut.String()
	}

	code, out, stderr := speech("create", "Hello from the binary")
	id := strings.TrimSpace(out)
	if code != exitOK || len(id) != 36 {
		t.Fatalf("create: exit %d stdout %q stderr %q", code, out, stderr)
	}
	if code, out, _ := speech("result", id); code != exitOK || !strings.Contains(out, "status    QUEUED") {
		t.Errorf("result: exit %d stdout %q, want 0 and QUEUED", code, out)
	}
	if code, out, _ := speech("wait", "--json", id); code != exitOK || !strings.Contains(out, `"status": "COMPLETED"`) {
		t.Errorf("wait: exit %d stdout %q, want 0 and COMPLETED", code, out)
	}
	code, out, stderr = speech("say", "Hello", "-o", "hello.wav")
	if code != exitOK || !strings.Contains(out, "wrote hello.wav") || strings.Contains(out, "\r") {
		t.Errorf("say: exit %d stdout %q stderr %q, want 0, plain lines and the file", code, out, stderr)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "hello.wav")); err != nil {
		t.Errorf("say wrote no file: %v", err)
	} else {
		checkWAV(t, b)
	}
	if code, _, _ := speech("wait", "--timeout", "200ms", strings.TrimSpace(mustCreate(t, speech, "slow"))); code != exitTimeout {
		t.Errorf("wait on a stuck task: exit %d, want %d", code, exitTimeout)
	}
	if code, _, _ := speech("wait", mustCreate(t, speech, "fail")); code != exitTaskError {
		t.Errorf("wait on a failing task: exit %d, want %d", code, exitTaskError)
	}
	if code, _, _ := speech("result", "00000000-0000-4000-8000-000000000000"); code != exitAPI {
		t.Errorf("result of an unknown task: exit %d, want %d", code, exitAPI)
	}
	if code, _, stderr := speech("say", "no output flag"); code != exitUsage || !strings.Contains(stderr, "usage: speech say") {
		t.Errorf("usage error: exit %d stderr %q, want %d and the usage", code, stderr, exitUsage)
	}
	if code, _, _ := speech(); code != exitUsage {
		t.Errorf("no command: exit %d, want %d", code, exitUsage)
	}
}

func mustCreate(t *testing.T, speech func(...string) (int, string, string), text string) string {
	t.Helper()
	code, out, stderr := speech("create", text)
	if code != exitOK {
		t.Fatalf("create %q: exit %d: %s", text, code, stderr)
	}
	return strings.TrimSpace(out)
}

func TestHoistGlobalFlags(t *testing.T) {
	tests := []struct {
		name string
		in   []string
		want []string
	}{
		{"none", []string{"say", "hi"}, []string{"say", "hi"}},
		{"separate values", []string{"--api-key", "k", "-base-url", "http://h", "create", "hi"}, []string{"create", "--api-key", "k", "-base-url", "http://h", "hi"}},
		{"with =", []string{"--base-url=http://h", "wait", "id"}, []string{"wait", "--base-url=http://h", "id"}},
		{"other flags stay", []string{"-h"}, []string{"-h"}},
		{"no subcommand", []string{"--api-key", "k"}, []string{"--api-key", "k"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := hoistGlobalFlags(tc.in); strings.Join(got, " ") != strings.Join(tc.want, " ") {
				t.Errorf("hoistGlobalFlags(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
	srv := newCLIServer(t)
	code, out, stderr := runCLI(t, nil, false, "--api-key", "cli-key", "--base-url", srv.URL, "create", "global flags first")
	if code != exitOK || len(strings.TrimSpace(out)) != 36 {
		t.Errorf("global flags before the command: exit %d stdout %q stderr %q, want 0 and an id", code, out, stderr)
	}
}
