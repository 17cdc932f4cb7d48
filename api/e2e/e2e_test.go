// Package e2e_test drives the reference server composed in-process (speechd's
// own wiring: the HTTP API, a store, a worker pool, an engine and the result
// files) only through its HTTP API, the way a client sees it.
package e2e_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/distributeai/asyncspeech/api/engine"
	"github.com/distributeai/asyncspeech/api/engine/espeak"
	"github.com/distributeai/asyncspeech/api/engine/tone"
	"github.com/distributeai/asyncspeech/api/speechtest"
	"github.com/distributeai/asyncspeech/api/store"
	"github.com/distributeai/asyncspeech/api/task"
	"github.com/distributeai/asyncspeech/api/worker"
)

const key = "e2e-key"

// stack is the reference server (speechd's composition, through
// speechtest), driven only through its HTTP API. Its workers wait for
// StartWorkers, so a test can see tasks as CREATED first.
type stack struct {
	*speechtest.Server
	release chan struct{}
	once    sync.Once
}

// newStack serves eng with the worker settings of opts that are set
// (Workers, PollInterval, Backoff, Now), on a memory store; gate, if not
// nil, wraps the store the server uses.
func newStack(t *testing.T, gate *gatedStore, eng engine.Engine, opts worker.Options) *stack {
	t.Helper()
	s := &stack{release: make(chan struct{})}
	wrap := func(st store.Store) store.Store { return st }
	if gate != nil {
		wrap = func(st store.Store) store.Store { gate.Store = st; return gate }
	}
	s.Server = speechtest.NewServer(t,
		speechtest.WithKeys(key),
		speechtest.WithStoreWrapper(wrap),
		speechtest.WithEngine(eng),
		speechtest.WithWorkers(opts.Workers),
		speechtest.WithClock(opts.Now),
		speechtest.WithWorkersHeld(s.release),
		speechtest.WithWorkerOptions(func(o *worker.Options) {
			if opts.PollInterval > 0 {
				o.PollInterval = opts.PollInterval
			}
			if opts.Backoff.Base > 0 {
				o.Backoff = opts.Backoff
			}
		}),
	)
	return s
}

// StartWorkers lets the workers run (once).
func (s *stack) StartWorkers() { s.once.Do(func() { close(s.release) }) }

type answer struct {
	ID       string   `json:"id"`
	Status   string   `json:"status"`
	Created  float64  `json:"created"`
	Finished *float64 `json:"finished"`
	Results  []struct {
		URL string `json:"url"`
	} `json:"results"`
}

func post(t *testing.T, url string, body any, out any) {
	t.Helper()
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", url, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("POST %s: got %d %s, want 200", url, resp.StatusCode, raw)
	}
	if err := json.Unmarshal(raw, out); err != nil {
		t.Fatalf("POST %s: decode %s: %v", url, raw, err)
	}
}

func (s *stack) create(t *testing.T, input string) string {
	t.Helper()
	var out struct{ ID string }
	post(t, s.URL+"/async/speech/create", map[string]any{"model": "Chatterbox", "input": input}, &out)
	return out.ID
}

func (s *stack) result(t *testing.T, id string) answer {
	t.Helper()
	var out answer
	post(t, s.URL+"/async/speech/result", map[string]string{"id": id}, &out)
	return out
}

// waitStatus polls the result call until the task shows want, recording
// every status it sees on the way in seen.
func (s *stack) waitStatus(t *testing.T, id, want string, seen *[]string) answer {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		got := s.result(t, id)
		if n := len(*seen); n == 0 || (*seen)[n-1] != got.Status {
			*seen = append(*seen, got.Status)
		}
		if got.Status == want {
			return got
		}
		if task.Status(got.Status).Terminal() || time.Now().After(deadline) {
			t.Fatalf("task %s: got status %s (seen %v), want %s", id, got.Status, *seen, want)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// gatedStore holds workers at the two steps a test cannot otherwise catch
// over HTTP: Claim (while holdClaims is set it finds nothing, so an admitted
// task stays QUEUED) and Start (each call waits for a token on starts, so a
// claimed task stays ASSIGNED_CONNECTIONS).
type gatedStore struct {
	store.Store
	holdClaims atomic.Bool
	starts     chan struct{}
}

func (g *gatedStore) Claim(ctx context.Context, opts store.ClaimOptions) (task.Task, error) {
	if g.holdClaims.Load() {
		return task.Task{}, store.ErrNoTask
	}
	return g.Store.Claim(ctx, opts)
}

func (g *gatedStore) Start(ctx context.Context, id, worker string, leaseUntil time.Time) error {
	select {
	case <-g.starts:
	case <-ctx.Done():
		return ctx.Err()
	}
	return g.Store.Start(ctx, id, worker, leaseUntil)
}

// gatedEngine is a fake engine: each run waits for the test to hand it an
// outcome (nil: a tone WAV; an error: that error).
type gatedEngine struct {
	outcomes chan error
}

func (g *gatedEngine) Name() string { return "gated-fake" }

func (g *gatedEngine) Synthesize(ctx context.Context, req engine.Request) (engine.Audio, error) {
	select {
	case err := <-g.outcomes:
		if err != nil {
			return engine.Audio{}, err
		}
		return tone.New(tone.Options{}).Synthesize(ctx, req)
	case <-ctx.Done():
		return engine.Audio{}, ctx.Err()
	}
}

// TestLifecycleThroughHTTP holds the task at each step so every status it
// passes through is seen through the result call, POSTPONED included
// (provoked by a transient engine failure), and checks the order is legal.
func TestLifecycleThroughHTTP(t *testing.T) {
	var now atomic.Int64
	now.Store(time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC).UnixMilli())
	clock := func() time.Time { return time.UnixMilli(now.Load()) }

	st := &gatedStore{starts: make(chan struct{})}
	eng := &gatedEngine{outcomes: make(chan error)}
	s := newStack(t, st, eng, worker.Options{
		Workers:      1,
		PollInterval: 2 * time.Millisecond,
		Backoff:      worker.Backoff{Base: time.Hour, Max: time.Hour},
		Now:          clock,
	})

	// blocker occupies the only worker so the observed task waits QUEUED.
	blocker := s.create(t, "The first task holds the worker.")
	now.Add(1) // admission takes the oldest first: make the order certain
	id := s.create(t, "The second task is watched through every status.")
	var seen []string
	s.waitStatus(t, id, "CREATED", &seen) // no worker runs yet
	s.StartWorkers()

	var blockerSeen []string
	s.waitStatus(t, blocker, "ASSIGNED_CONNECTIONS", &blockerSeen)
	s.waitStatus(t, id, "QUEUED", &seen)
	st.starts <- struct{}{} // blocker starts
	eng.outcomes <- nil     // and completes
	s.waitStatus(t, blocker, "COMPLETED", &blockerSeen)

	s.waitStatus(t, id, "ASSIGNED_CONNECTIONS", &seen)
	st.starts <- struct{}{}
	s.waitStatus(t, id, "PROCESSING", &seen)
	eng.outcomes <- engine.ErrUnavailable
	s.waitStatus(t, id, "POSTPONED", &seen)

	st.holdClaims.Store(true)
	now.Add(2 * time.Hour.Milliseconds()) // the backoff (at most an hour) has passed
	s.waitStatus(t, id, "QUEUED", &seen)
	st.holdClaims.Store(false)
	s.waitStatus(t, id, "ASSIGNED_CONNECTIONS", &seen)
	st.starts <- struct{}{}
	s.waitStatus(t, id, "PROCESSING", &seen)
	eng.outcomes <- nil
	done := s.waitStatus(t, id, "COMPLETED", &seen)

	want := []string{"CREATED", "QUEUED", "ASSIGNED_CONNECTIONS", "PROCESSING", "POSTPONED",
		"QUEUED", "ASSIGNED_CONNECTIONS", "PROCESSING", "COMPLETED"}
	if strings.Join(seen, " ") != strings.Join(want, " ") {
		t.Errorf("statuses seen: got %v, want %v", seen, want)
	}
	for i := 1; i < len(seen); i++ {
		if !task.CanTransition(task.Status(seen[i-1]), task.Status(seen[i])) {
			t.Errorf("illegal move seen through the API: %s -> %s", seen[i-1], seen[i])
		}
	}
	if done.Finished == nil || *done.Finished < done.Created {
		t.Errorf("finished %v, created %v: want finished set and not before created", done.Finished, done.Created)
	}
	if len(done.Results) != 1 {
		t.Fatalf("got %d results, want 1", len(done.Results))
	}
	wav := download(t, done.Results[0].URL)
	if _, err := engine.ParseWAV(wav); err != nil {
		t.Errorf("result is not a WAV: %v", err)
	}
}

func download(t *testing.T, url string) []byte {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: got %d (%v), want 200", url, resp.StatusCode, err)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "audio/wav" {
		t.Errorf("Content-Type: got %q, want audio/wav", ct)
	}
	return b
}

// TestEspeakSpeechThroughHTTP says a sentence with the real espeak-ng engine
// through the API and checks the WAV lasts a plausible time for its words.
func TestEspeakSpeechThroughHTTP(t *testing.T) {
	if _, err := exec.LookPath("espeak-ng"); err != nil {
		t.Skip("espeak-ng is not installed (apt-get install espeak-ng); skipping real speech")
	}
	eng, err := espeak.New(espeak.Options{})
	if err != nil {
		t.Fatalf("espeak.New: %v", err)
	}
	s := newStack(t, nil, eng, worker.Options{Workers: 1, PollInterval: 5 * time.Millisecond})
	s.StartWorkers()
	const sentence = "The reference server turns this sentence into speech for the test."
	id := s.create(t, sentence)
	var seen []string
	done := s.waitStatus(t, id, "COMPLETED", &seen)
	if len(done.Results) != 1 {
		t.Fatalf("got %d results, want 1", len(done.Results))
	}
	info, err := engine.ParseWAV(download(t, done.Results[0].URL))
	if err != nil {
		t.Fatalf("result is not a WAV: %v", err)
	}
	words := len(strings.Fields(sentence))
	perWord := info.Duration() / time.Duration(words)
	if perWord < 300*time.Millisecond || perWord > 2*time.Second {
		t.Errorf("got %v for %d words (%v a word), want 0.3–2 s a word", info.Duration(), words, perWord)
	}
}
