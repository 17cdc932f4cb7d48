package metrics

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/distributeai/asyncspeech/api/task"

	"github.com/distributeai/asyncspeech/api/store"
	"github.com/distributeai/asyncspeech/api/store/memory"
)

func scrape(t *testing.T, m *Metrics) string {
	t.Helper()
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	if rec.Code != 200 {
		t.Fatalf("scrape: got %d, want 200", rec.Code)
	}
	return rec.Body.String()
}

func TestRequestsAndStore(t *testing.T) {
	st := memory.New()
	now := time.Now()
	for i, id := range []string{"3f1c2a9e-8b7d-4c6e-9f10-2a3b4c5d6e70", "3f1c2a9e-8b7d-4c6e-9f10-2a3b4c5d6e71"} {
		if err := st.Create(context.Background(), task.Task{ID: id, Owner: "o", Model: "Chatterbox", Status: task.StatusCreated, Created: now.Add(time.Duration(i))}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := st.Admit(context.Background(), store.AdmitOptions{Now: now, Limit: 1}); err != nil {
		t.Fatal(err)
	}
	m := New(st, time.Second, nil)
	h := m.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/async/speech/result" {
			w.WriteHeader(404)
		}
		_, _ = io.WriteString(w, "x")
	}))
	for _, p := range []string{"/async/speech/result", "/async/speech/create", "/random/1", "/random/2", "/results/abc/0.wav"} {
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodPost, p, nil))
	}
	m.ObserveEngine(10*time.Millisecond, nil)
	m.ObserveEngine(time.Millisecond, errors.New("x"))
	m.ObserveTransition(task.StatusCompleted)
	out := scrape(t, m)
	for _, want := range []string{
		`speechd_http_requests_total{method="POST",route="/async/speech/result",status="404"} 1`,
		`speechd_http_requests_total{method="POST",route="/async/speech/create",status="200"} 1`,
		`speechd_http_requests_total{method="POST",route="other",status="200"} 2`,
		`speechd_http_requests_total{method="POST",route="/results/",status="200"} 1`,
		`speechd_http_request_duration_seconds_count{route="/async/speech/result"} 1`,
		`speechd_tasks{status="CREATED"} 1`,
		`speechd_tasks{status="QUEUED"} 1`,
		`speechd_tasks{status="COMPLETED"} 0`,
		`speechd_queue_depth 2`,
		`speechd_store_up 1`,
		`speechd_engine_runs_total{outcome="error"} 1`,
		`speechd_task_transitions_total{status="COMPLETED"} 1`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("scrape lacks %q", want)
		}
	}
}

type downStore struct{ store.Store }

func (downStore) Counts(context.Context) (map[task.Status]int, error) {
	return nil, errors.New("store down")
}

func TestStoreDown(t *testing.T) {
	out := scrape(t, New(downStore{memory.New()}, time.Second, nil))
	if !strings.Contains(out, "speechd_store_up 0") {
		t.Errorf("store down: scrape lacks speechd_store_up 0:\n%s", out)
	}
}

func TestRoute(t *testing.T) {
	tests := map[string]string{
		"/async/speech/create":   "/async/speech/create",
		"/async/speech/result":   "/async/speech/result",
		"/async/speech/create/x": "other",
		"/results/a/1.wav":       "/results/",
		"/healthz":               "/healthz",
		"/":                      "other",
	}
	m := New(nil, time.Second, nil)
	for path, want := range tests {
		if got := m.route(path); got != want {
			t.Errorf("Route(%q): got %q, want %q", path, got, want)
		}
	}
}
