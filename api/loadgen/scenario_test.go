package loadgen

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeAPI is a tiny in-memory server of the two operations: with failAll
// every task ends ERROR, otherwise each completes after `polls` result
// calls. It records the authorization headers it saw.
type fakeAPI struct {
	failAll  bool
	mu       sync.Mutex
	polls    int
	seen     map[string]int
	input    map[string]string
	next     int
	authSeen map[string]bool
	creates  int
	results  int
}

func newFakeAPI(t *testing.T, polls int) (*fakeAPI, *httptest.Server) {
	t.Helper()
	f := &fakeAPI{polls: polls, seen: map[string]int{}, input: map[string]string{}, authSeen: map[string]bool{}}
	mux := http.NewServeMux()
	mux.HandleFunc("POST "+CreatePath(), func(w http.ResponseWriter, r *http.Request) {
		var body struct{ Input string }
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil || body.Input == "" {
			http.Error(w, `{"message":"bad body"}`, http.StatusBadRequest)
			return
		}
		f.mu.Lock()
		f.authSeen[r.Header.Get("Authorization")] = true
		f.next++
		f.creates++
		id := fmt.Sprintf("00000000-0000-4000-8000-%012d", f.next)
		f.input[id] = body.Input
		f.mu.Unlock()
		fmt.Fprintf(w, `{"id":%q}`, id)
	})
	mux.HandleFunc("POST "+ResultPath(), func(w http.ResponseWriter, r *http.Request) {
		var body struct{ ID string }
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			http.Error(w, `{"message":"bad body"}`, http.StatusBadRequest)
			return
		}
		f.mu.Lock()
		defer f.mu.Unlock()
		f.results++
		in, ok := f.input[body.ID]
		if !ok {
			w.WriteHeader(http.StatusNotFound)
			fmt.Fprint(w, `{"message":"task not found"}`)
			return
		}
		f.seen[body.ID]++
		status := "QUEUED"
		switch {
		case f.failAll && in != "":
			status = "ERROR"
		case f.seen[body.ID] > f.polls:
			status = "COMPLETED"
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"id":%q,"status":%q,"created":1,"model":"Chatterbox","results":[]}`, body.ID, status)
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return f, srv
}

func TestResultScenario(t *testing.T) {
	// The task completes on its third result call: the set-up waits for
	// it (three calls), then probes it and sees COMPLETED.
	f, srv := newFakeAPI(t, 2)
	tg := testTarget(t, srv.URL, 4)
	op, p, err := Result(context.Background(), tg, "", 5*time.Second)
	if err != nil {
		t.Fatalf("Result: %v", err)
	}
	if !strings.HasPrefix(p.ID, "00000000-0000-4000-8000-") || !p.Created {
		t.Errorf("probe = %+v, want the task the server created", p)
	}
	if p.Status != "COMPLETED" {
		t.Errorf("probe status = %q, want COMPLETED (set-up waits for the task)", p.Status)
	}
	rep, err := Run(context.Background(), Config{Concurrency: 4, Duration: 30 * time.Second, Requests: 50}, op)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if rep.OK != 50 {
		t.Errorf("ok = %d, want 50 (errors %v, statuses %v)", rep.OK, rep.Errors, rep.Statuses)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.creates != 1 {
		t.Errorf("server saw %d creates, want 1 (setup only)", f.creates)
	}
	if f.results != 54 {
		t.Errorf("server saw %d result calls, want 54 (three waits, one probe, 50 measured)", f.results)
	}
	if !f.authSeen["k"] || len(f.authSeen) != 1 {
		t.Errorf("authorization headers seen = %v, want only the raw key %q", f.authSeen, "k")
	}
}

func TestResultScenarioProbeFailures(t *testing.T) {
	_, srv := newFakeAPI(t, 0)
	notJSON := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `hello`)
	}))
	defer notJSON.Close()
	tests := []struct {
		name    string
		base    string
		id      string
		wantErr string
	}{
		{"unknown task", srv.URL, "00000000-0000-4000-8000-999999999999", "status 404"},
		{"not a result object", notJSON.URL, "00000000-0000-4000-8000-000000000001", "not a result object"},
		{"create fails", notJSON.URL, "", "has no id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := Result(context.Background(), testTarget(t, tt.base, 1), tt.id, time.Second)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("Result error = %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestLifecycleScenario(t *testing.T) {
	waits := []struct {
		name string
		make func(Target, time.Duration) (WaitFunc, error)
	}{
		{"PollWait", PollWait},
		{"ClientWait", ClientWait},
	}
	for _, w := range waits {
		t.Run(w.name, func(t *testing.T) { testLifecycle(t, w.make) })
	}
}

func testLifecycle(t *testing.T, makeWait func(Target, time.Duration) (WaitFunc, error)) {
	t.Helper()
	f, srv := newFakeAPI(t, 2)
	tg := testTarget(t, srv.URL, 3)
	wait, err := makeWait(tg, time.Millisecond)
	if err != nil {
		t.Fatalf("wait: %v", err)
	}
	rep, err := Run(context.Background(), Config{Concurrency: 3, Duration: 30 * time.Second, Requests: 12}, Lifecycle(tg, wait, 10*time.Second))
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if rep.OK != 12 || rep.Failed() != 0 {
		t.Errorf("ok=%d failed=%d (errors %v), want 12 and 0", rep.OK, rep.Failed(), rep.Errors)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.creates != 12 {
		t.Errorf("creates = %d, want 12", f.creates)
	}
	// Each task is QUEUED for two polls and COMPLETED on the third.
	if f.results != 36 {
		t.Errorf("result calls = %d, want 36 (3 polls per task)", f.results)
	}
}

func TestLifecycleScenarioFailures(t *testing.T) {
	tests := []struct {
		name     string
		failAll  bool
		wait     func(Target) WaitFunc
		wantKind string
	}{
		{"task ends ERROR", false, func(Target) WaitFunc {
			return func(context.Context, string) (string, error) { return "ERROR", nil }
		}, "task_error"},
		{"wait times out", false, func(Target) WaitFunc {
			return func(ctx context.Context, _ string) (string, error) { <-ctx.Done(); return "", ctx.Err() }
		}, "timeout"},
		{"client wait sees ERROR", true, func(tg Target) WaitFunc {
			w, _ := ClientWait(tg, time.Millisecond)
			return w
		}, "task_error"},
		{"client wait meets 404", false, func(tg Target) WaitFunc {
			w, _ := ClientWait(tg, time.Millisecond)
			return func(ctx context.Context, _ string) (string, error) {
				return w(ctx, "00000000-0000-4000-8000-999999999999")
			}
		}, "status"},
		{"poll meets 404", false, func(tg Target) WaitFunc {
			w, _ := PollWait(tg, time.Millisecond)
			return func(ctx context.Context, _ string) (string, error) {
				return w(ctx, "00000000-0000-4000-8000-999999999999")
			}
		}, "status"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, srv := newFakeAPI(t, 0)
			f.failAll = tt.failAll
			tg := testTarget(t, srv.URL, 1)
			rep, err := Run(context.Background(), Config{Concurrency: 1, Duration: 30 * time.Second, Requests: 2}, Lifecycle(tg, tt.wait(tg), 50*time.Millisecond))
			if err != nil {
				t.Fatalf("Run: %v", err)
			}
			if rep.OK != 0 || rep.Errors[tt.wantKind] != 2 {
				t.Errorf("ok=%d errors=%v, want 0 ok and %s: 2", rep.OK, rep.Errors, tt.wantKind)
			}
		})
	}
}

func TestLifecycleScenarioBadResultBody(t *testing.T) {
	// create works, but the result call answers 200 with a body that is not
	// a result object: the op must say so instead of counting a success.
	mux := http.NewServeMux()
	mux.HandleFunc("POST "+CreatePath(), func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `{"id":"00000000-0000-4000-8000-000000000001"}`)
	})
	mux.HandleFunc("POST "+ResultPath(), func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		fmt.Fprint(w, `COMPLETED`)
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	tg := testTarget(t, srv.URL, 1)
	wait, err := PollWait(tg, time.Millisecond)
	if err != nil {
		t.Fatalf("PollWait: %v", err)
	}
	rep, err := Run(context.Background(), Config{Concurrency: 1, Duration: 30 * time.Second, Requests: 3}, Lifecycle(tg, wait, time.Second))
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if rep.OK != 0 || rep.Errors["bad_body"] != 3 {
		t.Errorf("ok=%d errors=%v, want 0 ok and bad_body: 3", rep.OK, rep.Errors)
	}
}
