package server

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/distributeai/asyncspeech/api/task"

	"github.com/distributeai/asyncspeech/api/server/auth"
	"github.com/distributeai/asyncspeech/api/store"
	"github.com/distributeai/asyncspeech/api/store/memory"
	"github.com/distributeai/asyncspeech/api/validate"
	"github.com/distributeai/asyncspeech/internal/logtest"
)

// testLinks builds predictable result URLs.
type testLinks struct{}

func (testLinks) URL(id string, index int) string {
	return fmt.Sprintf("http://results.test/results/%s/%d.wav", id, index)
}

// stack is the real HTTP stack on a test server, with a spec validator of
// its own that checks every response the tests receive.
type stack struct {
	t     *testing.T
	url   string
	store store.Store
	check *validate.Validator
	logs  *logtest.Buffer
	hc    *http.Client
}

type stackConfig struct {
	store   store.Store
	keys    []string
	handler HandlerOptions
	now     func() time.Time
	bare    bool // builds the stack without the spec validator
}

func newStack(t *testing.T, cfg stackConfig) *stack {
	t.Helper()
	if cfg.store == nil {
		cfg.store = memory.New()
	}
	logs := &logtest.Buffer{}
	log := slog.New(slog.NewTextHandler(logs, nil))
	srv := New(cfg.store, Options{Links: testLinks{}, Logger: log, Now: cfg.now})
	ho := cfg.handler
	ho.Logger = log
	ho.StrictResponses = true
	if cfg.keys != nil {
		ho.Auth = auth.New(cfg.keys)
	}
	h, err := newHandler(srv, ho, !cfg.bare)
	if err != nil {
		t.Fatalf("NewHandler: %v", err)
	}
	ts := httptest.NewServer(h)
	t.Cleanup(ts.Close)
	check, err := validate.New(context.Background(), validate.Options{ExtensionStatuses: ExtensionStatuses()})
	if err != nil {
		t.Fatalf("validate.New: %v", err)
	}
	return &stack{t: t, url: ts.URL, store: cfg.store, check: check, logs: logs, hc: ts.Client()}
}

type reply struct {
	status int
	header http.Header
	body   []byte
}

// message returns the {"message"} of a reply, failing the test if the body
// has any other shape.
func (r reply) message(t *testing.T) string {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("body %q is not JSON: %v", r.body, err)
	}
	msg, ok := m["message"].(string)
	if !ok || len(m) != 1 {
		t.Fatalf(`body %q, want {"message": string}`, r.body)
	}
	return msg
}

// do sends a request and checks the reply against the spec (documented
// extensions allowed); any violation fails the test.
func (s *stack) do(method, path, key, contentType string, body []byte) reply {
	s.t.Helper()
	req, err := http.NewRequest(method, s.url+path, bytes.NewReader(body))
	if err != nil {
		s.t.Fatal(err)
	}
	if body == nil {
		req.Body = http.NoBody
		req.ContentLength = 0
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if key != "" {
		req.Header.Set("Authorization", key)
	}
	resp, err := s.hc.Do(req)
	if err != nil {
		s.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		s.t.Fatalf("read reply: %v", err)
	}
	r := reply{status: resp.StatusCode, header: resp.Header, body: b}
	// Only the spec's operations have a contract to check.
	if method == http.MethodPost && (path == "/async/speech/create" || path == "/async/speech/result") {
		vreq := httptest.NewRequest(method, path, nil)
		if verr := s.check.Response(context.Background(), vreq, r.status, r.header, r.body); verr != nil {
			s.t.Errorf("%s %s: reply %d %s violates the spec: %v", method, path, r.status, b, verr)
		}
	}
	return r
}

func (s *stack) create(key, body string) reply {
	s.t.Helper()
	return s.do(http.MethodPost, "/async/speech/create", key, "application/json", []byte(body))
}

func (s *stack) result(key, id string) reply {
	s.t.Helper()
	return s.do(http.MethodPost, "/async/speech/result", key, "application/json", []byte(`{"id":"`+id+`"}`))
}

// createID creates a valid task and returns its id.
func (s *stack) createID(key string) string {
	s.t.Helper()
	r := s.create(key, `{"model":"Chatterbox","input":"hello world"}`)
	if r.status != http.StatusOK {
		s.t.Fatalf("create: got %d %s, want 200", r.status, r.body)
	}
	var out struct{ ID string }
	if err := json.Unmarshal(r.body, &out); err != nil || !validTaskID(out.ID) {
		s.t.Fatalf("create reply %s: want {\"id\": uuidv4} (err %v)", r.body, err)
	}
	return out.ID
}

// faultyStore injects failures and odd data into a memory store.
type faultyStore struct {
	store.Store
	createErr error
	getErr    error
	getPanic  bool
	status    task.Status // overrides the status Get returns, when set
}

func (f *faultyStore) Create(ctx context.Context, t task.Task) error {
	return f.CreateWithin(ctx, t, store.CreateLimits{})
}

func (f *faultyStore) CreateWithin(ctx context.Context, t task.Task, lim store.CreateLimits) error {
	if f.createErr != nil {
		return f.createErr
	}
	return f.Store.CreateWithin(ctx, t, lim)
}

func (f *faultyStore) Get(ctx context.Context, id, owner string) (task.Task, error) {
	if f.getPanic {
		panic("store exploded: secret internals")
	}
	if f.getErr != nil {
		return task.Task{}, f.getErr
	}
	t, err := f.Store.Get(ctx, id, owner)
	if f.status != "" {
		t.Status = f.status
	}
	return t, err
}
