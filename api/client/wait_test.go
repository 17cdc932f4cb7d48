package client_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/distributeai/asyncspeech/api/client"
)

func TestWaitSeesEveryStatus(t *testing.T) {
	tests := []struct {
		name  string
		steps []client.Status
		want  []client.Status
	}{
		{"the whole lifecycle",
			[]client.Status{client.StatusCreated, client.StatusQueued, client.StatusAssigned, client.StatusProcessing, client.StatusCompleted},
			[]client.Status{client.StatusCreated, client.StatusQueued, client.StatusAssigned, client.StatusProcessing, client.StatusCompleted}},
		{"repeated statuses are reported once, a return to QUEUED again",
			[]client.Status{client.StatusQueued, client.StatusQueued, client.StatusPostponed, client.StatusQueued, client.StatusProcessing, client.StatusProcessing, client.StatusError},
			[]client.Status{client.StatusQueued, client.StatusPostponed, client.StatusQueued, client.StatusProcessing, client.StatusError}},
		{"already done", []client.Status{client.StatusCompleted}, []client.Status{client.StatusCompleted}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newTestFakeAPI(t, tc.steps...)
			c := f.client(t)
			ctx := context.Background()
			id, err := c.Create(ctx, client.CreateParams{Input: "hello"})
			if err != nil {
				t.Fatalf("create: %v", err)
			}
			var seen []client.Status
			task, err := c.Wait(ctx, id, client.WithPollInterval(time.Millisecond), client.WithMaxPollInterval(2*time.Millisecond),
				client.WithStatusCallback(func(t *client.Task) { seen = append(seen, t.Status) }))
			if !slices.Equal(seen, tc.want) {
				t.Errorf("callback saw %v, want %v", seen, tc.want)
			}
			last := tc.want[len(tc.want)-1]
			if task == nil || task.Status != last {
				t.Fatalf("got task %+v, want status %s", task, last)
			}
			if got := f.polls[id]; got != len(tc.steps) {
				t.Errorf("server saw %d result calls, want %d (one per step)", got, len(tc.steps))
			}
			if last == client.StatusError {
				var failed *client.TaskFailedError
				if !errors.As(err, &failed) || failed.Task.ID != id || !errors.Is(err, client.ErrTaskFailed) {
					t.Errorf("got error %v, want *TaskFailedError for %s", err, id)
				}
			} else if err != nil {
				t.Errorf("got error %v, want nil", err)
			}
		})
	}
}

func TestWaitStopsAtOnceOnCancel(t *testing.T) {
	f := newTestFakeAPI(t, client.StatusProcessing)
	c := f.client(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	id, err := c.Create(ctx, client.CreateParams{Input: "hello"})
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	var cancelled time.Time
	done := make(chan error)
	go func() {
		// The poll window is an hour, so only cancellation can end Wait.
		_, err := c.Wait(ctx, id, client.WithPollInterval(time.Hour), client.WithMaxPollInterval(time.Hour),
			client.WithStatusCallback(func(*client.Task) {
				go func() { time.Sleep(20 * time.Millisecond); cancelled = time.Now(); cancel() }()
			}))
		done <- err
	}()
	select {
	case err := <-done:
		// "At once" next to the hour a missed cancellation would take;
		// 2 s leaves room for a loaded machine's scheduling.
		if d := time.Since(cancelled); d > 2*time.Second {
			t.Errorf("Wait returned %v after cancel, want at once", d)
		}
		if !errors.Is(err, context.Canceled) {
			t.Errorf("got %v, want context.Canceled", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Wait did not return 10 s after cancel")
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.resultCalls != 1 {
		t.Errorf("server saw %d result calls, want 1", f.resultCalls)
	}
}

func TestWaitDeadline(t *testing.T) {
	f := newTestFakeAPI(t, client.StatusQueued)
	c := f.client(t)
	// The task stays QUEUED, so only the deadline ends Speak; it must leave
	// time for the create and a first poll, whose status Speak returns.
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	task, err := c.Speak(ctx, client.CreateParams{Input: "hello"}, client.WithPollInterval(10*time.Millisecond))
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("got %v, want context.DeadlineExceeded", err)
	}
	if task == nil || task.ID == "" || task.Status != client.StatusQueued {
		t.Errorf("got task %+v, want the queued task with its id", task)
	}
}

func TestTimeUnits(t *testing.T) {
	want := time.Date(2025, 11, 24, 16, 0, 0, 123_000_000, time.UTC)
	tests := []struct {
		name string
		in   float64
		want time.Time
	}{
		{"seconds with ms fraction", 1764000000.123, want},
		{"milliseconds", 1764000000123, want},
		{"whole seconds", 1764000000, want.Truncate(time.Second)},
		{"1e11 is still seconds", 1e11, time.Unix(1e11, 0)},
		{"just above 1e11 is milliseconds", 1e11 + 1000, time.UnixMilli(1e11 + 1000)},
		{"zero", 0, time.Time{}},
		{"negative", -5, time.Time{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := client.TimeFromUnix(tc.in); !got.Equal(tc.want) {
				t.Errorf("TimeFromUnix(%v) = %v, want %v", tc.in, got, tc.want)
			}
		})
	}
	for _, unit := range []float64{1, 1000} {
		f := newTestFakeAPI(t, client.StatusCompleted)
		f.createdUnit = unit
		task, err := f.client(t).Speak(context.Background(), client.CreateParams{Input: "hello"})
		if err != nil {
			t.Fatalf("speak: %v", err)
		}
		if !task.Created.Equal(want) || !task.Finished.Equal(time.Date(2025, 11, 24, 16, 0, 2, 500_000_000, time.UTC)) {
			t.Errorf("unit %v: got created %v finished %v, want %v and 2.377 s later", unit, task.Created, task.Finished, want)
		}
	}
}

// parseWAV checks the RIFF/WAVE header and returns the data chunk's size.
func parseWAV(t *testing.T, b []byte) uint32 {
	t.Helper()
	if len(b) < 44 || string(b[0:4]) != "RIFF" || string(b[8:12]) != "WAVE" {
		t.Fatalf("got %d bytes starting %q, want a RIFF/WAVE file", len(b), b[:min(len(b), 12)])
	}
	if size := binary.LittleEndian.Uint32(b[4:8]); int(size) != len(b)-8 {
		t.Errorf("RIFF size %d, want %d", size, len(b)-8)
	}
	for off := 12; off+8 <= len(b); {
		id, size := string(b[off:off+4]), binary.LittleEndian.Uint32(b[off+4:off+8])
		if id == "data" {
			if int(size) > len(b)-off-8 {
				t.Fatalf("data chunk of %d bytes overruns the file", size)
			}
			return size
		}
		off += 8 + int(size) + int(size%2)
	}
	t.Fatal("no data chunk")
	return 0
}

func TestDownload(t *testing.T) {
	f := newTestFakeAPI(t)
	c := f.client(t)
	ctx := context.Background()
	task, err := c.Speak(ctx, client.CreateParams{Input: "hello"}, client.WithPollInterval(time.Millisecond))
	if err != nil {
		t.Fatalf("speak: %v", err)
	}
	var buf bytes.Buffer
	if _, err := c.Download(ctx, task, &buf); err != nil {
		t.Fatalf("download: %v", err)
	}
	if got := parseWAV(t, buf.Bytes()); got != 1600 {
		t.Errorf("data chunk %d bytes, want 1600", got)
	}
	if !slices.Equal(f.downloadKey, []string{""}) {
		t.Errorf("download sent Authorization %q, want none (result URLs are capability links)", f.downloadKey)
	}

	dir := t.TempDir()
	two := *task
	two.Results = append(slices.Clone(task.Results), task.Results[0])
	paths, err := c.DownloadFile(ctx, &two, filepath.Join(dir, "out.wav"))
	if err != nil {
		t.Fatalf("download file: %v", err)
	}
	if want := []string{filepath.Join(dir, "out.wav"), filepath.Join(dir, "out-1.wav")}; !slices.Equal(paths, want) {
		t.Errorf("got paths %v, want %v", paths, want)
	}
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		parseWAV(t, b)
	}

	t.Run("refused URL leaves no file and is not retried", func(t *testing.T) {
		bad := *task
		bad.Results = []client.Result{{URL: strings.Replace(task.Results[0].URL, "secret", "forged", 1)}}
		before := len(f.downloadKey)
		_, err := c.DownloadFile(ctx, &bad, filepath.Join(dir, "bad.wav"))
		var apiErr *client.APIError
		if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusForbidden || apiErr.Operation != "download" {
			t.Fatalf("got %v, want a 403 download *APIError", err)
		}
		if strings.Contains(err.Error(), "forged") {
			t.Errorf("error %q shows the URL's signature", err)
		}
		if n := len(f.downloadKey) - before; n != 1 {
			t.Errorf("got %d requests, want 1", n)
		}
		entries, _ := os.ReadDir(dir)
		for _, e := range entries {
			if e.Name() != "out.wav" && e.Name() != "out-1.wav" {
				t.Errorf("left %s behind", e.Name())
			}
		}
	})
	t.Run("unfinished task", func(t *testing.T) {
		if _, err := c.Download(ctx, &client.Task{ID: "x", Status: client.StatusQueued}, &buf); err == nil {
			t.Error("got nil error for a QUEUED task")
		}
	})
	t.Run("relative URL resolves against the base URL", func(t *testing.T) {
		rel := strings.TrimPrefix(task.Results[0].URL, f.URL)
		var b bytes.Buffer
		if _, err := c.DownloadURL(ctx, rel, &b); err != nil {
			t.Fatalf("download %s: %v", rel, err)
		}
		parseWAV(t, b.Bytes())
	})
}

func TestNew(t *testing.T) {
	t.Run("environment defaults", func(t *testing.T) {
		var gotKey, gotUA string
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			gotKey, gotUA = r.Header.Get("Authorization"), r.Header.Get("User-Agent")
			w.Header().Set("Content-Type", "application/json")
			w.Write([]byte(okCreate.body))
		}))
		defer srv.Close()
		t.Setenv(client.EnvAPIKey, "env-key")
		t.Setenv(client.EnvBaseURL, srv.URL)
		c, err := client.New()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.Create(context.Background(), client.CreateParams{Input: "hi"}); err != nil {
			t.Fatal(err)
		}
		if gotKey != "env-key" || gotUA != client.DefaultUserAgent {
			t.Errorf("got authorization %q user agent %q, want the raw key %q and %q", gotKey, gotUA, "env-key", client.DefaultUserAgent)
		}
		c, err = client.New(client.WithAPIKey("opt-key"), client.WithBaseURL("http://example.test/prefix"), client.WithUserAgent("ua/2"))
		if err != nil {
			t.Fatal(err)
		}
		if c.BaseURL() != "http://example.test/prefix" {
			t.Errorf("got base URL %s, want the option's", c.BaseURL())
		}
	})
	t.Run("default base URL is the contract's server", func(t *testing.T) {
		t.Setenv(client.EnvBaseURL, "")
		c, err := client.New(client.WithAPIKey("k"))
		if err != nil || c.BaseURL() != "https://api.distribute.ai" {
			t.Errorf("got %v, %v; want https://api.distribute.ai", c, err)
		}
	})
	for _, tc := range []struct {
		name string
		opts []client.Option
		want string
	}{
		{"no key", nil, "no API key"},
		{"relative base URL", []client.Option{client.WithAPIKey("k"), client.WithBaseURL("api.distribute.ai")}, "not an absolute"},
		{"ftp base URL", []client.Option{client.WithAPIKey("k"), client.WithBaseURL("ftp://h")}, "not an absolute"},
		{"negative retry", []client.Option{client.WithAPIKey("k"), client.WithRetryPolicy(client.RetryPolicy{MaxAttempts: -1})}, "negative"},
		{"nil http client", []client.Option{client.WithAPIKey("k"), client.WithHTTPClient(nil)}, "nil"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv(client.EnvAPIKey, "")
			_, err := client.New(tc.opts...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

func TestResponseValidation(t *testing.T) {
	tests := []struct {
		name      string
		op        string
		status    int
		body      string
		wantDrift bool
	}{
		{"conforming result", "result", 200, okResult.body, false},
		{"conforming create", "create", 200, okCreate.body, false},
		{"extra field", "result", 200, `{"id":"a","status":"QUEUED","created":1,"model":"m","results":[],"eta":3}`, true},
		{"missing results", "result", 200, `{"id":"a","status":"QUEUED","created":1,"model":"m"}`, true},
		{"created as a string", "result", 200, `{"id":"a","status":"QUEUED","created":"now","model":"m","results":[]}`, true},
		{"create 400 without message", "create", 400, `{"error":"bad"}`, true},
		{"undocumented 401 passes to the caller as an API error", "create", 401, `{"message":"bad key"}`, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := newScripted(t, reply{tc.status, "", tc.body})
			for _, validate := range []bool{false, true} {
				var opts []client.Option
				if validate {
					opts = append(opts, client.WithResponseValidation())
				}
				err := callOp(context.Background(), newClient(t, srv.URL, opts...), tc.op)
				var drift *client.ContractError
				if gotDrift := errors.As(err, &drift); gotDrift != (validate && tc.wantDrift) {
					t.Errorf("validation %v: got error %v, want contract error %v", validate, err, validate && tc.wantDrift)
				}
			}
		})
	}
}
