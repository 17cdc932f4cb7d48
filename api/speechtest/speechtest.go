// Package speechtest starts the reference speech server in-process for
// tests of code that calls Distribute.AI's asynchronous speech API:
//
//	srv := speechtest.NewServer(t)
//	c, _ := client.New(client.WithBaseURL(srv.URL), client.WithAPIKey(srv.Key))
//
// The server is speechd's own composition (api/daemon: middleware, workers,
// result files, metrics) on embedded storage (memory by default, SQLite in t.TempDir() with WithSQLite), with
// the tone engine instead of speech and a lifecycle tuned for tests: workers
// poll every few milliseconds and a POSTPONED task is retried after
// milliseconds, not seconds. It is closed when the test ends.
//
// Outcomes can be scripted for the next created task: srv.FailNext() ends it
// in ERROR, srv.PostponeNext(n) makes its first n engine runs fail
// transiently (POSTPONED, then retried), and srv.NextTakesPolls(n) keeps it
// unfinished for its first n result calls and finished from the next one.
package speechtest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/distributeai/asyncspeech"
	"github.com/distributeai/asyncspeech/api/daemon"
	"github.com/distributeai/asyncspeech/api/task"

	"github.com/distributeai/asyncspeech/api/engine"
	"github.com/distributeai/asyncspeech/api/engine/tone"
	"github.com/distributeai/asyncspeech/api/server/auth"
	"github.com/distributeai/asyncspeech/api/store"
	"github.com/distributeai/asyncspeech/api/store/history"
	"github.com/distributeai/asyncspeech/api/store/memory"
	"github.com/distributeai/asyncspeech/api/store/sqlite"
	"github.com/distributeai/asyncspeech/api/worker"
	"github.com/distributeai/asyncspeech/internal/respwriter"
)

// Server is a running reference server.
type Server struct {
	// URL is the base URL of the API (http://127.0.0.1:PORT).
	URL string
	// Key is a valid API key; with WithOpenMode any non-empty key works and
	// Key is still one of them.
	Key string
	// Keys are all configured keys (nil in open mode).
	Keys []string
	// Store is the server's store, for assertions on stored tasks. Reads
	// through it are ordered with History like the server's own.
	Store store.Store

	scripts *scripts
	hist    *history.Store
}

type config struct {
	keys    []string
	open    bool
	sqlite  bool
	wrap    func(store.Store) store.Store
	engine  engine.Engine
	logger  *slog.Logger
	workers int
	delay   time.Duration
	now     func() time.Time
	tune    func(*worker.Options)
	held    <-chan struct{}
}

// Option configures NewServer.
type Option func(*config)

// WithKeys configures the valid API keys (default: one random key, in
// Server.Key).
func WithKeys(keys ...string) Option {
	return func(c *config) { c.keys = append([]string(nil), keys...) }
}

// WithOpenMode runs the server in open development mode: any non-empty key
// is accepted and owns its own tasks.
func WithOpenMode() Option { return func(c *config) { c.open = true } }

// WithSQLite stores tasks in a SQLite file in t.TempDir() instead of memory.
func WithSQLite() Option { return func(c *config) { c.sqlite = true } }

// WithStoreWrapper makes the server use wrap(st), where st is its store
// already wrapped in the History recorder. A test that holds a store call
// (a claim, a start) wraps here, outside History's lock, so result calls
// still answer while the call waits.
func WithStoreWrapper(wrap func(store.Store) store.Store) Option {
	return func(c *config) { c.wrap = wrap }
}

// WithEngine runs e instead of the tone engine (scripts still apply to it),
// e.g. a real speech engine, or one a test holds step by step.
func WithEngine(e engine.Engine) Option { return func(c *config) { c.engine = e } }

// WithLogger sends the server's logs to l (default: discarded).
func WithLogger(l *slog.Logger) Option { return func(c *config) { c.logger = l } }

// WithEngineDelay makes every run of the tone engine take at least d, so
// tests can see the PROCESSING status (default 0).
func WithEngineDelay(d time.Duration) Option { return func(c *config) { c.delay = d } }

// WithWorkers sets how many tasks run at once (default 2).
func WithWorkers(n int) Option { return func(c *config) { c.workers = max(n, 1) } }

// WithClock sets the clock the server and workers stamp tasks with (default
// time.Now). Timers (polling, backoff) still run on real time.
func WithClock(now func() time.Time) Option { return func(c *config) { c.now = now } }

// WithWorkerOptions lets tune change the worker pool's options after the
// test defaults (millisecond polling and backoff) are applied.
func WithWorkerOptions(tune func(*worker.Options)) Option {
	return func(c *config) { c.tune = tune }
}

// WithWorkersHeld keeps the workers (admission included) from starting
// until release is closed: tasks created before stay CREATED.
func WithWorkersHeld(release <-chan struct{}) Option {
	return func(c *config) { c.held = release }
}

// NewServer starts a reference server for the test and stops it (HTTP
// drained, then the workers, then the store) when the test ends. It is
// speechd's own composition (api/daemon) on a loopback port, with strict
// response validation; scripted tasks that still wait for polls are
// released at the end.
func NewServer(t testing.TB, opts ...Option) *Server {
	t.Helper()
	cfg := &config{workers: 2}
	for _, o := range opts {
		o(cfg)
	}
	if cfg.logger == nil {
		cfg.logger = slog.New(slog.DiscardHandler)
	}
	if cfg.now == nil {
		cfg.now = time.Now
	}
	s := &Server{}
	switch {
	case cfg.open:
		s.Key = "speechtest-" + randomHex(8)
	case len(cfg.keys) == 0:
		s.Key = "speechtest-" + randomHex(16)
		s.Keys = []string{s.Key}
	default:
		s.Key = cfg.keys[0]
		s.Keys = cfg.keys
	}

	var st store.Store
	switch {
	case cfg.sqlite:
		sq, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "speechtest.db"))
		if err != nil {
			t.Fatalf("speechtest: open SQLite store: %v", err)
		}
		st = sq
	default:
		st = memory.New()
	}
	s.scripts = newScripts()
	// Everything, workers and HTTP alike, uses the store through the
	// history recorder, so History is written with each status change.
	s.hist = history.New(st)
	s.Store = s.hist

	base := cfg.engine
	if base == nil {
		base = tone.New(tone.Options{Delay: cfg.delay, MaxDuration: time.Second})
	}
	served := store.Store(s.hist)
	if cfg.wrap != nil {
		served = cfg.wrap(served)
	}
	d, err := daemon.New(context.Background(), daemon.Config{
		Addr:            "127.0.0.1:0",
		Keys:            s.Keys,
		Workers:         cfg.workers,
		LinkSecret:      "speechtest-" + randomHex(16),
		LinkTTL:         time.Hour,
		StrictResponses: true,
		ShutdownTimeout: 10 * time.Second,
	}, cfg.logger,
		daemon.WithStore(served),
		daemon.WithEngine(&ScriptedEngine{Base: base, scripts: s.scripts}),
		daemon.WithClock(cfg.now),
		daemon.WithIDs(s.scripts.newID),
		daemon.WithWorkersHeld(cfg.held),
		daemon.WithAPIWrapper(func(h http.Handler) http.Handler { return s.scripts.countPolls(s.hist, h) }),
		daemon.WithWorkerOptions(func(o *worker.Options) {
			o.Lease = 10 * time.Second
			o.Timeout = 30 * time.Second
			o.MaxAttempts = maxPostpones + 2
			o.Backoff = worker.Backoff{Base: 5 * time.Millisecond, Max: 20 * time.Millisecond}
			o.PollInterval = 5 * time.Millisecond
			o.RequeueEvery = 50 * time.Millisecond
			o.StopGrace = time.Second
			o.WorkerID = "speechtest"
			if cfg.tune != nil {
				cfg.tune(o)
			}
		}),
	)
	if err != nil {
		t.Fatalf("speechtest: start the reference server: %v", err)
	}
	s.URL = d.URL()

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	t.Cleanup(func() {
		s.scripts.releaseAll()
		cancel()
		if err := <-done; err != nil {
			t.Errorf("speechtest: server stopped with: %v", err)
		}
	})
	return s
}

// History returns the statuses the workers moved task id to, in the order
// the store took them (ASSIGNED_CONNECTIONS, PROCESSING, POSTPONED,
// COMPLETED, ERROR; not the CREATED and QUEUED that creation, admission and
// lease expiry set). Each is recorded under the same lock as its store
// write, and every read of a task (result calls, Server.Store.Get) takes
// that lock, so a status any reader has seen is already in History:
// polling may miss a short-lived status, History does not.
func (s *Server) History(id string) []task.Status {
	return s.hist.Of(id)
}

// maxPostpones bounds PostponeNext so the task still completes within the
// worker's attempt limit.
const maxPostpones = 5

// FailNext makes the next created task end in ERROR (its engine run fails
// permanently).
func (s *Server) FailNext() { s.scripts.push(script{fail: true}) }

// PostponeNext makes the first times engine runs of the next created task
// fail transiently: it goes POSTPONED, is retried after a few milliseconds,
// and completes on run times+1. times is capped at 5.
func (s *Server) PostponeNext(times int) {
	s.scripts.push(script{postpone: min(max(times, 0), maxPostpones)})
}

// NextTakesPolls keeps the next created task unfinished for its first n
// result calls: its engine run waits for the n-th call, and call n+1 waits
// (up to 10 s) until the task is finished, so it sees COMPLETED (or ERROR,
// combined with FailNext-like scripts via Next).
func (s *Server) NextTakesPolls(n int) { s.scripts.push(script{polls: max(n, 0)}) }

// Script is an outcome for one task; combine fields with Next.
type Script struct {
	// Fail ends the task in ERROR.
	Fail bool
	// Postpone is the number of transient engine failures before it runs
	// (capped at 5).
	Postpone int
	// Polls is the number of result calls that see it unfinished.
	Polls int
}

// Next scripts the next created task.
func (s *Server) Next(sc Script) {
	s.scripts.push(script{fail: sc.Fail, postpone: min(max(sc.Postpone, 0), maxPostpones), polls: max(sc.Polls, 0)})
}

// ScriptedEngine wraps an engine (the tone engine in NewServer) and applies
// the scripted outcome of the task being run, if it has one; unscripted
// tasks go straight to Base.
type ScriptedEngine struct {
	Base    engine.Engine
	scripts *scripts
}

// Name reports the wrapped engine's name, marked as scripted.
func (e *ScriptedEngine) Name() string { return "scripted(" + e.Base.Name() + ")" }

// Synthesize applies the script of the task being run, if it has one.
func (e *ScriptedEngine) Synthesize(ctx context.Context, req engine.Request) (engine.Audio, error) {
	b := e.scripts.lookup(req.TaskID)
	if b == nil {
		return e.Base.Synthesize(ctx, req)
	}
	b.mu.Lock()
	runs := b.runs
	b.runs++
	b.mu.Unlock()
	if runs < b.s.postpone {
		return engine.Audio{}, fmt.Errorf("speechtest: scripted transient failure %d of %d: %w", runs+1, b.s.postpone, engine.ErrUnavailable)
	}
	if b.s.polls > 0 {
		select {
		case <-b.released:
		case <-ctx.Done():
			return engine.Audio{}, fmt.Errorf("speechtest: waiting for %d polls: %w", b.s.polls, ctx.Err())
		}
	}
	if b.s.fail {
		return engine.Audio{}, errors.New("speechtest: scripted permanent failure")
	}
	return e.Base.Synthesize(ctx, req)
}

type script struct {
	fail     bool
	postpone int
	polls    int
}

// binding is a script attached to a task id.
type binding struct {
	s        script
	mu       sync.Mutex
	runs     int
	polls    int
	released chan struct{} // closed when the task has been polled s.polls times
	once     sync.Once
}

func (b *binding) release() { b.once.Do(func() { close(b.released) }) }

// scripts holds pending scripts (for the next created tasks) and the
// bindings of created tasks. Scripts attach to a task when its id is made,
// before the task is stored, so a worker can never run it unscripted.
type scripts struct {
	mu      sync.Mutex
	pending []script
	byID    map[string]*binding
}

func newScripts() *scripts { return &scripts{byID: map[string]*binding{}} }

func (s *scripts) push(sc script) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pending = append(s.pending, sc)
}

// newID is the server's task id generator: a UUIDv4 that takes the next
// pending script with it.
func (s *scripts) newID() (string, error) {
	u, err := uuid.NewRandom()
	if err != nil {
		return "", fmt.Errorf("speechtest: task id: %w", err)
	}
	id := u.String()
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.pending) > 0 {
		bd := &binding{s: s.pending[0], released: make(chan struct{})}
		if bd.s.polls == 0 {
			bd.release()
		}
		s.byID[id] = bd
		s.pending = s.pending[1:]
	}
	return id, nil
}

func (s *scripts) lookup(id string) *binding {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.byID[id]
}

func (s *scripts) releaseAll() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, b := range s.byID {
		b.release()
	}
}

// countPolls counts successful result calls of scripted tasks: the n-th
// releases the task's engine run, and later ones wait until the task is
// finished so they see its terminal status.
func (s *scripts) countPolls(st store.Store, next http.Handler) http.Handler {
	resultOp := asyncspeech.MustOperation(asyncspeech.OperationResult)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != resultOp.Method || r.URL.Path != resultOp.Path {
			next.ServeHTTP(w, r)
			return
		}
		// Peek at the head of the body on a copy of the request: the server
		// must keep its own request's body, so that it can tell a body left
		// unread (an oversized one refused early) and close the connection
		// instead of parsing the rest as the next request.
		head, _ := io.ReadAll(io.LimitReader(r.Body, maxPeek))
		orig := r
		r = r.WithContext(r.Context())
		r.Body = readCloser{io.MultiReader(bytes.NewReader(head), orig.Body), orig.Body}
		var req struct {
			ID string `json:"id"`
		}
		// A body that is not a small JSON object holds no scripted id.
		_ = json.Unmarshal(head, &req)
		b := s.lookup(strings.ToLower(req.ID))
		if b == nil || b.s.polls == 0 {
			next.ServeHTTP(w, r)
			return
		}
		b.mu.Lock()
		due := b.polls >= b.s.polls
		b.mu.Unlock()
		if due {
			waitFinished(r.Context(), st, req.ID, auth.OwnerOf(auth.KeyFromHeader(r.Header.Get("Authorization"))))
		}
		sw := respwriter.New(w)
		next.ServeHTTP(sw, r)
		if sw.Status() != http.StatusOK {
			return
		}
		b.mu.Lock()
		b.polls++
		if b.polls >= b.s.polls {
			b.release()
		}
		b.mu.Unlock()
	})
}

// waitFinished waits (at most 10 s) until the owner's task is terminal.
func waitFinished(ctx context.Context, st store.Store, id, owner string) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	for {
		t, err := st.Get(ctx, strings.ToLower(id), owner)
		if err != nil || t.Status.Terminal() {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(2 * time.Millisecond):
		}
	}
}

// maxPeek bounds how much of a result call's body countPolls reads; a valid
// one is under 100 bytes.
const maxPeek = 4 << 10

type readCloser struct {
	io.Reader
	io.Closer
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
