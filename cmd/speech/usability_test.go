package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/distributeai/asyncspeech/api/client"
)

// These tests pin the fixes of problems a new user met: output paths checked
// before a billed create, task ids checked locally, one clean error line,
// help on stdout, negative timeouts refused, TEXT as one argument, fixed
// millisecond times in JSON, a resume hint on interrupt, and the wording of
// empty text.

const unknownID = "00000000-0000-4000-8000-000000000000"

// TestOutputPathCheckedBeforeCreate: an -o the audio cannot be written to
// is a usage error before any request, so no task is created (and billed).
func TestOutputPathCheckedBeforeCreate(t *testing.T) {
	srv := newCLIServer(t)
	vars := map[string]string{"DISTRIBUTE_API_KEY": "cli-key", "DISTRIBUTE_BASE_URL": srv.URL}
	dir := t.TempDir()
	file := filepath.Join(dir, "plain-file")
	if err := os.WriteFile(file, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		out        string
		wantStderr string
	}{
		{"missing directory", filepath.Join(dir, "no", "such", "x.wav"), "directory " + filepath.Join(dir, "no", "such") + " does not exist"},
		{"existing directory", dir, "is a directory: name a file, e.g. " + filepath.Join(dir, "speech.wav")},
		{"parent is a file", filepath.Join(file, "x.wav"), "not a directory"},
	}
	if os.Geteuid() != 0 {
		// Root may write anywhere, so the case only means something for
		// other users.
		ro := filepath.Join(dir, "read-only")
		if err := os.Mkdir(ro, 0o555); err != nil {
			t.Fatal(err)
		}
		tests = append(tests, struct{ name, out, wantStderr string }{"read-only directory", filepath.Join(ro, "x.wav"), "cannot create files in " + ro})
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before, _ := srv.calls()
			code, stdout, stderr := runCLI(t, vars, false, "say", "Hello", "-o", tc.out)
			if code != exitUsage {
				t.Errorf("exit %d, want %d (stderr %q)", code, exitUsage, stderr)
			}
			if after, _ := srv.calls(); after != before {
				t.Errorf("server got %d create requests, want 0", after-before)
			}
			if want := "speech say: -o " + tc.out + ": "; !strings.HasPrefix(stderr, want) || !strings.Contains(stderr, tc.wantStderr) || strings.Count(stderr, "\n") != 1 {
				t.Errorf("stderr %q, want one line starting %q and containing %q", stderr, want, tc.wantStderr)
			}
			if stdout != "" {
				t.Errorf("stdout %q, want nothing", stdout)
			}
		})
	}
	t.Run("the check leaves no file behind", func(t *testing.T) {
		out := filepath.Join(t.TempDir(), "ok.wav")
		if err := checkOutputPath(out); err != nil {
			t.Fatalf("checkOutputPath(%q) = %v, want nil", out, err)
		}
		if entries, err := os.ReadDir(filepath.Dir(out)); err != nil || len(entries) != 0 {
			t.Errorf("directory holds %v (%v), want nothing", entries, err)
		}
	})
}

// TestTaskIDCheckedLocally: result and wait refuse an id that is not a
// UUIDv4 without asking the server.
func TestTaskIDCheckedLocally(t *testing.T) {
	srv := newCLIServer(t)
	vars := map[string]string{"DISTRIBUTE_API_KEY": "cli-key", "DISTRIBUTE_BASE_URL": srv.URL}
	for _, cmd := range []string{"result", "wait"} {
		for _, id := range []string{"not-a-uuid", "00000000-0000-1000-8000-000000000000", unknownID + " "} {
			t.Run(cmd+" "+id, func(t *testing.T) {
				_, before := srv.calls()
				code, _, stderr := runCLI(t, vars, false, cmd, id)
				if code != exitUsage {
					t.Errorf("exit %d, want %d (stderr %q)", code, exitUsage, stderr)
				}
				if want := fmt.Sprintf("speech %s: %q is not a task id: ID must be a UUID version 4", cmd, id); !strings.HasPrefix(stderr, want) {
					t.Errorf("stderr %q, want it to start %q", stderr, want)
				}
				if _, after := srv.calls(); after != before {
					t.Errorf("server got %d result requests, want 0", after-before)
				}
			})
		}
	}
	t.Run("upper-case hex is an id", func(t *testing.T) {
		code, _, stderr := runCLI(t, vars, false, "result", "ABCDEF01-2345-4678-9ABC-DEF012345678")
		if code != exitAPI || !strings.Contains(stderr, "not found (HTTP 404)") {
			t.Errorf("exit %d stderr %q, want %d and the server's 404", code, stderr, exitAPI)
		}
	})
}

// TestIsTaskIDMatchesSpec compares isTaskID with the pattern openapi.json
// gives the result call's id, so the two cannot drift apart.
func TestIsTaskIDMatchesSpec(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("..", "..", "openapi.json"))
	if err != nil {
		t.Fatal(err)
	}
	var spec struct {
		Paths map[string]map[string]struct {
			RequestBody struct {
				Content map[string]struct {
					Schema struct {
						Properties map[string]struct {
							Pattern string `json:"pattern"`
						} `json:"properties"`
					} `json:"schema"`
				} `json:"content"`
			} `json:"requestBody"`
		} `json:"paths"`
	}
	if err := json.Unmarshal(raw, &spec); err != nil {
		t.Fatal(err)
	}
	pattern := spec.Paths["/async/speech/result"]["post"].RequestBody.Content["application/json"].Schema.Properties["id"].Pattern
	if pattern == "" {
		t.Fatal("openapi.json has no pattern for the result call's id")
	}
	re := regexp.MustCompile(pattern)
	tests := []struct {
		name string
		id   string
		want bool
	}{
		{"lower-case v4", "0f8fad5b-d9cb-469f-a165-70867728950e", true},
		{"upper-case v4", "0F8FAD5B-D9CB-469F-A165-70867728950E", true},
		{"variant 8", "0f8fad5b-d9cb-469f-8165-70867728950e", true},
		{"variant b", "0f8fad5b-d9cb-469f-b165-70867728950e", true},
		{"variant c", "0f8fad5b-d9cb-469f-c165-70867728950e", false},
		{"version 1", "0f8fad5b-d9cb-169f-a165-70867728950e", false},
		{"no hyphens", "0f8fad5bd9cb469fa16570867728950e", false},
		{"hyphen moved", "0f8fad5-bd9cb-469f-a165-70867728950e", false},
		{"non-hex", "0f8fad5b-d9cb-469f-a165-70867728950g", false},
		{"too long", "0f8fad5b-d9cb-469f-a165-70867728950ee", false},
		{"braces", "{0f8fad5b-d9cb-469f-a165-70867728950}", false},
		{"empty", "", false},
		{"multi-byte", "0f8fad5b-d9cb-469f-a165-7086772895é", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if spec := re.MatchString(tc.id); spec != tc.want {
				t.Fatalf("the spec's pattern says %v for %q, the table %v: fix the table", spec, tc.id, tc.want)
			}
			if got := isTaskID(tc.id); got != tc.want {
				t.Errorf("isTaskID(%q) = %v, want %v", tc.id, got, tc.want)
			}
		})
	}
}

// TestOneCleanErrorLine: each failure is one line naming the command once,
// with the server's message and the HTTP status.
func TestOneCleanErrorLine(t *testing.T) {
	srv := newCLIServer(t)
	vars := map[string]string{"DISTRIBUTE_API_KEY": "cli-key", "DISTRIBUTE_BASE_URL": srv.URL}
	down := map[string]string{"DISTRIBUTE_API_KEY": "cli-key", "DISTRIBUTE_BASE_URL": "http://127.0.0.1:1"}
	_, out, _ := runCLI(t, vars, false, "create", "please fail")
	failing := strings.TrimSpace(out)
	tests := []struct {
		name       string
		vars       map[string]string
		args       []string
		wantCode   int
		wantStderr string // a prefix of the only line
	}{
		{"result 404", vars, []string{"result", unknownID}, exitAPI, "speech result: task " + unknownID + " not found (HTTP 404)"},
		{"wait 404", vars, []string{"wait", unknownID}, exitAPI, "speech wait: task " + unknownID + " not found (HTTP 404)"},
		{"create 401", vars, []string{"create", "--api-key", "wrong", "Hello"}, exitAPI, "speech create: bad API key (HTTP 401)"},
		{"create unreachable", down, []string{"create", "Hello"}, exitAPI, "speech create: cannot reach the server at http://127.0.0.1:1: dial tcp"},
		{"wait unreachable", down, []string{"wait", "--timeout", "5s", unknownID}, exitAPI, "speech wait: cannot reach the server at http://127.0.0.1:1: dial tcp"},
		{"wait for a failing task", vars, []string{"wait", failing}, exitTaskError, "speech wait: task " + failing + " ended in ERROR"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, _, stderr := runCLI(t, tc.vars, false, tc.args...)
			if code != tc.wantCode {
				t.Errorf("exit %d, want %d (stderr %q)", code, tc.wantCode, stderr)
			}
			var last string
			for _, line := range strings.Split(strings.TrimSuffix(stderr, "\n"), "\n") {
				if !strings.HasPrefix(line, "task ") || !strings.Contains(line, " after ") { // status lines of wait
					last = line
				}
			}
			if strings.Count(stderr, "speech ") != 1 || !strings.HasPrefix(last, tc.wantStderr) {
				t.Errorf("stderr %q, want one error line starting %q", stderr, tc.wantStderr)
			}
			for _, dup := range []string{"create: create", "wait: wait", "result: HTTP", ": result:", ": wait:", "Post \""} {
				if strings.Contains(stderr, dup) {
					t.Errorf("stderr %q repeats itself (%q)", stderr, dup)
				}
			}
		})
	}
}

// TestDescribe feeds describe the errors as api/client wraps them.
func TestDescribe(t *testing.T) {
	id := "0f8fad5b-d9cb-469f-a165-70867728950e"
	notFound := &client.APIError{Operation: "result", StatusCode: 404, Message: "task " + id + " not found", Attempts: 1}
	tests := []struct {
		name string
		err  error
		id   string
		want string
	}{
		{"404 as Wait wraps it", fmt.Errorf("wait: %w", fmt.Errorf("task %s: %w", id, notFound)), id, "task " + id + " not found (HTTP 404)"},
		{"message without the id gets it", &client.APIError{Operation: "result", StatusCode: 500, Message: "boom", Attempts: 4}, id, "task " + id + ": boom (HTTP 500, after 4 attempts)"},
		{"no message: status text", &client.APIError{Operation: "create", StatusCode: 502, Attempts: 1}, "", "Bad Gateway (HTTP 502)"},
		{"download", fmt.Errorf("task %s result 0: %w", id, &client.APIError{Operation: "download", StatusCode: 403, Message: "expired", Attempts: 1}), id, "download of the result: expired (HTTP 403)"},
		{"result URL unreachable, signature not shown", fmt.Errorf("download: %w", &url.Error{Op: "Get", URL: "http://cdn.example:81/r/1.wav?sig=secret", Err: errors.New("connection refused")}), id, "cannot download the result from http://cdn.example:81: connection refused"},
		{"contract", &client.ContractError{Operation: "result", StatusCode: 200, Err: errors.New(`property "id" is missing`)}, id, `the server's result response (HTTP 200) violates the contract: property "id" is missing`},
		{"other error loses the operation prefix", errors.New("create: HTTP 200 body has no id"), "", "HTTP 200 body has no id"},
		{"task failed", &client.TaskFailedError{Task: &client.Task{ID: id}}, id, "task " + id + " ended in ERROR"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := describe(tc.err, tc.id); got != tc.want {
				t.Errorf("describe(%q) = %q, want %q", tc.err, got, tc.want)
			}
		})
	}
}

// TestHelp: help asked for goes to stdout with exit 0, and `speech help
// CMD` is CMD's help; usage after a mistake stays on stderr with exit 2.
func TestHelp(t *testing.T) {
	tests := []struct {
		name       string
		args       []string
		wantCode   int
		wantStdout string // "" means stdout must be empty
		wantStderr string // "" means stderr must be empty
	}{
		{"--help", []string{"--help"}, exitOK, "usage: speech [--api-key KEY]", ""},
		{"-h", []string{"-h"}, exitOK, "usage: speech [--api-key KEY]", ""},
		{"help", []string{"help"}, exitOK, "usage: speech [--api-key KEY]", ""},
		{"help create", []string{"help", "create"}, exitOK, "usage: speech create [flags] TEXT", ""},
		{"help wait", []string{"help", "wait"}, exitOK, "usage: speech wait [flags] ID", ""},
		{"create --help", []string{"create", "--help"}, exitOK, "usage: speech create [flags] TEXT", ""},
		{"say -h after other flags", []string{"say", "--voice", "nora", "-h"}, exitOK, "usage: speech say -o FILE", ""},
		{"no command", nil, exitUsage, "", "usage: speech [--api-key KEY]"},
		{"help of an unknown command", []string{"help", "nosuch"}, exitUsage, "", `speech help: want one command name, got "nosuch"`},
		{"unknown flag", []string{"create", "--bogus", "hi"}, exitUsage, "", "flag provided but not defined: -bogus\nusage: speech create"},
		{"wrong argument count", []string{"result"}, exitUsage, "", "speech result: want one argument, got 0\nusage: speech result"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := runCLI(t, nil, false, tc.args...)
			if code != tc.wantCode {
				t.Errorf("exit %d, want %d", code, tc.wantCode)
			}
			for _, s := range []struct{ stream, got, want string }{{"stdout", stdout, tc.wantStdout}, {"stderr", stderr, tc.wantStderr}} {
				if s.want == "" && s.got != "" || !strings.Contains(s.got, s.want) {
					t.Errorf("%s %q, want it to contain %q", s.stream, s.got, s.want)
				}
			}
		})
	}
}

// TestNegativeTimeout: a negative --timeout is a usage error, not "no limit".
func TestNegativeTimeout(t *testing.T) {
	srv := newCLIServer(t)
	vars := map[string]string{"DISTRIBUTE_API_KEY": "cli-key", "DISTRIBUTE_BASE_URL": srv.URL}
	out := filepath.Join(t.TempDir(), "x.wav")
	for _, args := range [][]string{
		{"create", "--timeout", "-1s", "Hello"},
		{"result", "--timeout=-1ms", unknownID},
		{"wait", "--timeout", "-5m", unknownID},
		{"say", "--timeout", "-1s", "-o", out, "Hello"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			c0, r0 := srv.calls()
			code, _, stderr := runCLI(t, vars, false, args...)
			if code != exitUsage || !strings.Contains(stderr, "is negative: use a positive duration, or 0 for no limit") {
				t.Errorf("exit %d stderr %q, want %d and the negative timeout named", code, stderr, exitUsage)
			}
			if c1, r1 := srv.calls(); c1 != c0 || r1 != r0 {
				t.Errorf("server got %d creates and %d results, want none", c1-c0, r1-r0)
			}
		})
	}
}

// TestTextIsOneArgument: words are not joined into text (a forgotten flag
// name would be spoken and billed); quoted text is one argument.
func TestTextIsOneArgument(t *testing.T) {
	srv := newCLIServer(t)
	vars := map[string]string{"DISTRIBUTE_API_KEY": "cli-key", "DISTRIBUTE_BASE_URL": srv.URL}
	out := filepath.Join(t.TempDir(), "x.wav")
	for _, args := range [][]string{{"create", "two", "args"}, {"say", "-o", out, "hello", "nora"}} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			before, _ := srv.calls()
			code, _, stderr := runCLI(t, vars, false, args...)
			if code != exitUsage || !strings.Contains(stderr, "want one argument, got 2") || !strings.Contains(stderr, "quote text with spaces") {
				t.Errorf("exit %d stderr %q, want %d, the count and the quoting advice", code, stderr, exitUsage)
			}
			if after, _ := srv.calls(); after != before {
				t.Errorf("server got %d create requests, want 0", after-before)
			}
		})
	}
	t.Run("-- keeps text that starts with a dash", func(t *testing.T) {
		code, stdout, stderr := runCLI(t, vars, false, "create", "--", "-5 degrees")
		if code != exitOK || len(strings.TrimSpace(stdout)) != 36 {
			t.Errorf("exit %d stdout %q stderr %q, want 0 and an id", code, stdout, stderr)
		}
	})
}

// TestJSONTimes: --json prints times with exactly three fractional digits,
// like the text output.
func TestJSONTimes(t *testing.T) {
	srv := newCLIServer(t)
	vars := map[string]string{"DISTRIBUTE_API_KEY": "cli-key", "DISTRIBUTE_BASE_URL": srv.URL}
	_, out, _ := runCLI(t, vars, false, "create", "Hello")
	id := strings.TrimSpace(out)
	path := filepath.Join(t.TempDir(), "x.wav")
	for _, args := range [][]string{{"result", "--json", id}, {"wait", "--json", id}, {"say", "--json", "-o", path, "Hello"}} {
		t.Run(args[0], func(t *testing.T) {
			code, stdout, stderr := runCLI(t, vars, false, args...)
			if code != exitOK {
				t.Fatalf("exit %d (stderr %q)", code, stderr)
			}
			var task map[string]any
			if err := json.Unmarshal([]byte(stdout), &task); err != nil {
				t.Fatalf("stdout %q is not JSON: %v", stdout, err)
			}
			if got := task["created"]; got != "2025-11-24T16:00:00.250Z" {
				t.Errorf("created %v, want 2025-11-24T16:00:00.250Z", got)
			}
			if got, ok := task["finished"]; ok && got != "2025-11-24T16:00:01.750Z" {
				t.Errorf("finished %v, want 2025-11-24T16:00:01.750Z", got)
			}
			if _, ok := task["results"].([]any); !ok {
				t.Errorf("results %v, want a JSON array", task["results"])
			}
		})
	}
}

func TestFormatTime(t *testing.T) {
	base := time.Date(2026, 11, 24, 14, 5, 55, 0, time.UTC)
	tests := []struct {
		name string
		in   time.Time
		want string
	}{
		{"whole second", base, "2026-11-24T14:05:55.000Z"},
		{"two digits", base.Add(420 * time.Millisecond), "2026-11-24T14:05:55.420Z"},
		{"float noise rounds", base.Add(419999837 * time.Nanosecond), "2026-11-24T14:05:55.420Z"},
		{"other zone", base.In(time.FixedZone("X", 3600)), "2026-11-24T14:05:55.000Z"},
		{"zero", time.Time{}, "-"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := formatTime(tc.in); got != tc.want {
				t.Errorf("formatTime(%v) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

// interruptWriter is an output stream that cancels the command's context,
// as SIGINT does, the first time the output shows trigger.
type interruptWriter struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	trigger string
	cancel  context.CancelFunc
}

func (w *interruptWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	if strings.Contains(w.buf.String(), w.trigger) {
		w.cancel()
	}
	return len(p), nil
}

func (w *interruptWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

// TestInterruptHint: Ctrl-C while waiting says how to keep waiting, like a
// timeout does, and exits 1.
func TestInterruptHint(t *testing.T) {
	srv := newCLIServer(t)
	vars := map[string]string{"DISTRIBUTE_API_KEY": "cli-key", "DISTRIBUTE_BASE_URL": srv.URL}
	_, out, _ := runCLI(t, vars, false, "create", "slow one")
	id := strings.TrimSpace(out)
	tests := []struct {
		name string
		args []string
	}{
		{"wait", []string{"wait", id}},
		{"say", []string{"say", "slow too", "-o", filepath.Join(t.TempDir(), "x.wav")}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			stdout := &interruptWriter{trigger: " QUEUED after ", cancel: cancel}
			stderr := &interruptWriter{trigger: " QUEUED after ", cancel: cancel}
			e := &env{stdin: strings.NewReader(""), stdout: stdout, stderr: stderr,
				getenv: func(k string) string { return vars[k] }}
			code := run(ctx, e, tc.args)
			if ctx.Err() != context.Canceled {
				t.Fatalf("the command ended (exit %d, stderr %q) before it was interrupted", code, stderr)
			}
			if code != exitFailure {
				t.Errorf("exit %d, want %d", code, exitFailure)
			}
			want := regexp.MustCompile("^speech " + tc.name + ": interrupted: task ([0-9a-f-]{36}) is still QUEUED; run `speech wait ([0-9a-f-]{36})` to keep waiting\n$")
			lines := strings.SplitAfter(stderr.String(), "\n")
			last := lines[len(lines)-2]
			if m := want.FindStringSubmatch(last); m == nil || m[1] != m[2] || (tc.name == "wait" && m[1] != id) {
				t.Errorf("last stderr line %q, want it to match %s with the task's id", last, want)
			}
		})
	}
}

// TestInterruptBinary sends a real SIGINT to the built command.
func TestInterruptBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary; skipped with -short")
	}
	bin := filepath.Join(t.TempDir(), "speech")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	srv := newCLIServer(t)
	vars := map[string]string{"DISTRIBUTE_API_KEY": "cli-key", "DISTRIBUTE_BASE_URL": srv.URL}
	_, out, _ := runCLI(t, vars, false, "create", "slow one")
	id := strings.TrimSpace(out)

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "wait", id)
	cmd.Env = append(os.Environ(), "DISTRIBUTE_API_KEY=cli-key", "DISTRIBUTE_BASE_URL="+srv.URL)
	queued := make(chan struct{})
	stderr := &interruptWriter{trigger: " QUEUED after ", cancel: func() { closeOnce(queued) }}
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-queued:
	case <-ctx.Done():
		t.Fatalf("no QUEUED status line: stderr %q", stderr)
	}
	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	err := cmd.Wait()
	var exitErr *exec.ExitError
	if !errors.As(err, &exitErr) || exitErr.ExitCode() != exitFailure {
		t.Errorf("exit %v, want %d", err, exitFailure)
	}
	if want := "speech wait: interrupted: task " + id + " is still QUEUED; run `speech wait " + id + "` to keep waiting\n"; !strings.HasSuffix(stderr.String(), want) {
		t.Errorf("stderr %q, want it to end %q", stderr, want)
	}
}

// closeOnce closes ch unless it is closed already.
func closeOnce(ch chan struct{}) {
	select {
	case <-ch:
	default:
		close(ch)
	}
}

// TestEmptyText: empty text is a usage error with a complete sentence, and
// no request is sent.
func TestEmptyText(t *testing.T) {
	srv := newCLIServer(t)
	vars := map[string]string{"DISTRIBUTE_API_KEY": "cli-key", "DISTRIBUTE_BASE_URL": srv.URL}
	tests := []struct {
		name  string
		stdin string
		args  []string
		want  string
	}{
		{"empty argument", "", []string{"create", ""}, "speech create: no text to speak: TEXT is empty\n"},
		{"blank argument", "", []string{"create", "  "}, "speech create: no text to speak: TEXT is empty\n"},
		{"empty stdin", " \n", []string{"create", "-"}, "speech create: no text to speak: standard input is empty\n"},
		{"say", "", []string{"say", "-o", "-", ""}, "speech say: no text to speak: TEXT is empty\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			e := &env{stdin: strings.NewReader(tc.stdin), stdout: &stdout, stderr: &stderr, getenv: func(k string) string { return vars[k] }}
			before, _ := srv.calls()
			code := run(context.Background(), e, tc.args)
			if code != exitUsage || stderr.String() != tc.want {
				t.Errorf("exit %d stderr %q, want %d and %q", code, stderr.String(), exitUsage, tc.want)
			}
			if after, _ := srv.calls(); after != before {
				t.Errorf("server got %d create requests, want 0", after-before)
			}
		})
	}
}

// TestJSONKeepsURLsVerbatim: a result URL's "&" is printed as is, so it can
// be copied or grepped.
func TestJSONKeepsURLsVerbatim(t *testing.T) {
	const u = "http://h/results/0f8fad5b-d9cb-469f-a165-70867728950e/0.wav?exp=1&sig=ab"
	var b bytes.Buffer
	printTask(&b, &client.Task{ID: "0f8fad5b-d9cb-469f-a165-70867728950e", Status: client.StatusCompleted, Results: []client.Result{{URL: u}}}, true)
	if !strings.Contains(b.String(), `"url": "`+u+`"`) {
		t.Errorf("JSON %q, want the URL %q verbatim", b.String(), u)
	}
}
