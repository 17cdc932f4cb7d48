package speechtest_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/distributeai/asyncspeech/api/task"

	"github.com/distributeai/asyncspeech/api/speechtest"
	"github.com/distributeai/asyncspeech/generated"
)

func newClient(t *testing.T, srv *speechtest.Server, key string) *generated.ClientWithResponses {
	t.Helper()
	c, err := generated.NewClientWithResponses(srv.URL, generated.WithRequestEditorFn(func(_ context.Context, r *http.Request) error {
		r.Header.Set("authorization", key)
		return nil
	}))
	if err != nil {
		t.Fatalf("NewClientWithResponses: %v", err)
	}
	return c
}

func create(t *testing.T, c *generated.ClientWithResponses, text string) string {
	t.Helper()
	resp, err := c.AsyncSpeechCreateWithResponse(context.Background(), generated.AsyncSpeechCreateJSONRequestBody{Model: "Chatterbox", Input: text})
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	if resp.JSON200 == nil {
		t.Fatalf("create: got %d %s, want 200 {id}", resp.StatusCode(), resp.Body)
	}
	return resp.JSON200.Id
}

func result(t *testing.T, c *generated.ClientWithResponses, id string) *generated.AsyncSpeechResult200JSONResponseBody {
	t.Helper()
	resp, err := c.AsyncSpeechResultWithResponse(context.Background(), generated.AsyncSpeechResultJSONRequestBody{Id: id})
	if err != nil {
		t.Fatalf("result: %v", err)
	}
	if resp.JSON200 == nil {
		t.Fatalf("result %s: got %d %s, want 200", id, resp.StatusCode(), resp.Body)
	}
	return resp.JSON200
}

// pollUntilTerminal polls every few milliseconds (at most 10 s) and returns
// the distinct statuses seen, in order, and the last answer.
func pollUntilTerminal(t *testing.T, c *generated.ClientWithResponses, id string) ([]string, *generated.AsyncSpeechResult200JSONResponseBody) {
	t.Helper()
	var seen []string
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		r := result(t, c, id)
		if len(seen) == 0 || seen[len(seen)-1] != string(r.Status) {
			seen = append(seen, string(r.Status))
		}
		if r.Status == "COMPLETED" || r.Status == "ERROR" {
			return seen, r
		}
		time.Sleep(2 * time.Millisecond)
	}
	t.Fatalf("task %s not finished after 10 s; statuses seen %v", id, seen)
	return nil, nil
}

// inOrder reports whether want is a subsequence of seen.
func inOrder(seen, want []string) bool {
	i := 0
	for _, s := range seen {
		if i < len(want) && s == want[i] {
			i++
		}
	}
	return i == len(want)
}

func TestTaskCompletesAndDownloads(t *testing.T) {
	for _, tt := range []struct {
		name string
		opts []speechtest.Option
	}{
		{"memory", nil},
		{"sqlite", []speechtest.Option{speechtest.WithSQLite()}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			srv := speechtest.NewServer(t, tt.opts...)
			c := newClient(t, srv, srv.Key)
			id := create(t, c, "Hello from speechtest.")
			seen, last := pollUntilTerminal(t, c, id)
			if last.Status != "COMPLETED" || len(last.Results) == 0 || last.Results[0].Url == nil {
				t.Fatalf("task ended %s with %d results (seen %v), want COMPLETED with a result", last.Status, len(last.Results), seen)
			}
			resp, err := http.Get(*last.Results[0].Url)
			if err != nil {
				t.Fatalf("download: %v", err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != http.StatusOK || len(b) < 12 || string(b[:4]) != "RIFF" || string(b[8:12]) != "WAVE" {
				t.Errorf("download: got %d, %d bytes starting %q; want 200 and a WAV", resp.StatusCode, len(b), b[:min(12, len(b))])
			}
		})
	}
}

func TestScriptedOutcomes(t *testing.T) {
	tests := []struct {
		name       string
		script     func(*speechtest.Server)
		wantStatus string
		// wantSeen must appear, in order, among the statuses observed.
		wantSeen []string
		// wantHistory is the task's full History once it is seen finished.
		wantHistory []task.Status
	}{
		{"fail", (*speechtest.Server).FailNext, "ERROR", []string{"ERROR"},
			[]task.Status{task.StatusAssigned, task.StatusProcessing, task.StatusError}},
		{"postpone twice", func(s *speechtest.Server) { s.PostponeNext(2) }, "COMPLETED", []string{"COMPLETED"},
			[]task.Status{task.StatusAssigned, task.StatusProcessing, task.StatusPostponed,
				task.StatusAssigned, task.StatusProcessing, task.StatusPostponed,
				task.StatusAssigned, task.StatusProcessing, task.StatusCompleted}},
		{"fail after postponing", func(s *speechtest.Server) { s.Next(speechtest.Script{Postpone: 1, Fail: true}) }, "ERROR", []string{"ERROR"},
			[]task.Status{task.StatusAssigned, task.StatusProcessing, task.StatusPostponed,
				task.StatusAssigned, task.StatusProcessing, task.StatusError}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := speechtest.NewServer(t)
			c := newClient(t, srv, srv.Key)
			tt.script(srv)
			id := create(t, c, "A scripted task.")
			seen, last := pollUntilTerminal(t, c, id)
			if string(last.Status) != tt.wantStatus {
				t.Fatalf("status: got %s (seen %v), want %s", last.Status, seen, tt.wantStatus)
			}
			if tt.wantStatus == "ERROR" && (len(last.Results) != 0 || last.Finished == nil) {
				t.Errorf("ERROR task: got %d results, finished %v; want none and a finished time", len(last.Results), last.Finished)
			}
			if !inOrder(seen, tt.wantSeen) {
				t.Errorf("statuses seen: got %v, want %v among them in order", seen, tt.wantSeen)
			}
			// The terminal status was seen, so History holds it already.
			if got := srv.History(id); !slices.Equal(got, tt.wantHistory) {
				t.Errorf("History: got %v, want %v", got, tt.wantHistory)
			}
			// The script applied to that one task only: the next completes.
			id2 := create(t, c, "An unscripted task.")
			if _, last2 := pollUntilTerminal(t, c, id2); last2.Status != "COMPLETED" {
				t.Errorf("unscripted task after the scripted one: got %s, want COMPLETED", last2.Status)
			}
		})
	}
}

func TestPostponeNextRetries(t *testing.T) {
	srv := speechtest.NewServer(t)
	c := newClient(t, srv, srv.Key)
	srv.PostponeNext(2)
	id := create(t, c, "Postponed twice.")
	if _, last := pollUntilTerminal(t, c, id); last.Status != "COMPLETED" {
		t.Fatalf("got %s, want COMPLETED after two transient failures", last.Status)
	}
	want := []task.Status{
		task.StatusAssigned, task.StatusProcessing, task.StatusPostponed,
		task.StatusAssigned, task.StatusProcessing, task.StatusPostponed,
		task.StatusAssigned, task.StatusProcessing, task.StatusCompleted,
	}
	if got := srv.History(id); !slices.Equal(got, want) {
		t.Errorf("History: got %v, want %v", got, want)
	}
}

func TestNextTakesPolls(t *testing.T) {
	for _, n := range []int{1, 3, 7} {
		srv := speechtest.NewServer(t)
		c := newClient(t, srv, srv.Key)
		srv.NextTakesPolls(n)
		id := create(t, c, "Takes a few polls.")
		for i := 1; i <= n; i++ {
			if r := result(t, c, id); r.Status == "COMPLETED" || r.Status == "ERROR" {
				t.Fatalf("n=%d: poll %d saw %s, want unfinished until poll %d", n, i, r.Status, n+1)
			}
		}
		if r := result(t, c, id); r.Status != "COMPLETED" {
			t.Errorf("n=%d: poll %d saw %s, want COMPLETED", n, n+1, r.Status)
		}
	}
}

// A task held back for its polls must not hold up the others.
func TestHeldTaskDoesNotBlockOthers(t *testing.T) {
	srv := speechtest.NewServer(t)
	c := newClient(t, srv, srv.Key)
	srv.NextTakesPolls(1000)
	held := create(t, c, "Held back for a thousand polls.")
	for _, text := range []string{"Runs meanwhile.", "Runs meanwhile too."} {
		id := create(t, c, text)
		if _, last := pollUntilTerminal(t, c, id); last.Status != "COMPLETED" {
			t.Errorf("task %q: got %s, want COMPLETED while another is held", text, last.Status)
		}
	}
	if r := result(t, c, held); r.Status == "COMPLETED" || r.Status == "ERROR" {
		t.Errorf("held task: got %s after 2 polls, want unfinished", r.Status)
	}
}

func TestKeysAndOpenMode(t *testing.T) {
	srv := speechtest.NewServer(t, speechtest.WithKeys("alpha", "beta"))
	if srv.Key != "alpha" {
		t.Errorf("Key: got %q, want the first configured key", srv.Key)
	}
	id := create(t, newClient(t, srv, "alpha"), "Owned by alpha.")
	resp, err := newClient(t, srv, "beta").AsyncSpeechResultWithResponse(context.Background(), generated.AsyncSpeechResultJSONRequestBody{Id: id})
	if err != nil || resp.StatusCode() != http.StatusNotFound {
		t.Errorf("alpha's task read with beta: got %v %v, want 404", resp.StatusCode(), err)
	}
	bad, err := newClient(t, srv, "gamma").AsyncSpeechResultWithResponse(context.Background(), generated.AsyncSpeechResultJSONRequestBody{Id: id})
	if err != nil || bad.StatusCode() != http.StatusUnauthorized {
		t.Errorf("unknown key: got %v %v, want 401", bad.StatusCode(), err)
	}

	open := speechtest.NewServer(t, speechtest.WithOpenMode())
	if open.Keys != nil {
		t.Errorf("open mode Keys: got %v, want nil", open.Keys)
	}
	create(t, newClient(t, open, "any-key-at-all"), "Open mode accepts any key.")
}

func TestClockDelayAndLoggerOptions(t *testing.T) {
	fixed := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	var logs bytes.Buffer
	var mu sync.Mutex
	srv := speechtest.NewServer(t,
		speechtest.WithClock(func() time.Time { return fixed }),
		speechtest.WithEngineDelay(time.Second),
		speechtest.WithLogger(slog.New(slog.NewTextHandler(lockedWriter{&mu, &logs}, &slog.HandlerOptions{Level: slog.LevelDebug}))),
	)
	c := newClient(t, srv, srv.Key)
	id := create(t, c, "On a fixed clock.")
	seen, last := pollUntilTerminal(t, c, id)
	if want := float64(fixed.Unix()); last.Created != want || last.Finished == nil || *last.Finished != want {
		t.Errorf("created %v finished %v, want both %v (the fixed clock)", last.Created, last.Finished, want)
	}
	// A 1 s engine run is seen between 2 ms polls even on a loaded machine.
	if !slices.Contains(seen, "PROCESSING") {
		t.Errorf("statuses seen %v, want PROCESSING with WithEngineDelay", seen)
	}
	mu.Lock()
	defer mu.Unlock()
	if logs.Len() == 0 {
		t.Errorf("WithLogger: nothing logged")
	}
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
