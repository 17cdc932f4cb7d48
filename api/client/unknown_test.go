package client_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/distributeai/asyncspeech/api/client"
)

// A server on a newer contract may report a status this client does not
// know. Nothing says whether it is final, so Wait must keep polling through
// it, hand it to the status callback and stop only at COMPLETED, ERROR or
// the end of the context.
func TestWaitUnknownStatus(t *testing.T) {
	tests := []struct {
		name     string
		steps    []client.Status
		deadline time.Duration // 0: none needed, the task finishes; else room for the create and three polls
		want     []client.Status
		wantErr  error
	}{
		{"an unknown status in passing", []client.Status{client.StatusQueued, "PAUSED", client.StatusProcessing, client.StatusCompleted}, 0,
			[]client.Status{client.StatusQueued, "PAUSED", client.StatusProcessing, client.StatusCompleted}, nil},
		{"an unknown status to the end: polled until the context ends", []client.Status{client.StatusQueued, "CANCELLED"}, 2 * time.Second,
			[]client.Status{client.StatusQueued, "CANCELLED"}, context.DeadlineExceeded},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newTestFakeAPI(t, tc.steps...)
			var logs bytes.Buffer
			c := f.client(t, client.WithLogger(slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelWarn}))))
			ctx := context.Background()
			if tc.deadline > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tc.deadline)
				defer cancel()
			}
			id, err := c.Create(ctx, client.CreateParams{Input: "hello"})
			if err != nil {
				t.Fatalf("create: %v", err)
			}
			var seen []client.Status
			var unknown []client.Status
			task, err := c.Wait(ctx, id, client.WithPollInterval(time.Millisecond), client.WithMaxPollInterval(5*time.Millisecond),
				client.WithStatusCallback(func(t *client.Task) {
					seen = append(seen, t.Status)
					if !client.KnownStatus(t.Status) {
						unknown = append(unknown, t.Status)
					}
				}))
			if !slices.Equal(seen, tc.want) {
				t.Errorf("callback saw %v, want %v", seen, tc.want)
			}
			var wantUnknown []client.Status
			for _, s := range tc.steps {
				if !client.KnownStatus(s) {
					wantUnknown = append(wantUnknown, s)
				}
			}
			if !slices.Equal(unknown, wantUnknown) {
				t.Errorf("KnownStatus was false for %v, want %v", unknown, wantUnknown)
			}
			last := tc.want[len(tc.want)-1]
			if task == nil || task.Status != last {
				t.Fatalf("got task %+v, want the last status %s", task, last)
			}
			if tc.wantErr == nil {
				if err != nil {
					t.Fatalf("got error %v, want nil", err)
				}
			} else {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("got error %v, want %v", err, tc.wantErr)
				}
				if msg := err.Error(); !strings.Contains(msg, string(last)) || !strings.Contains(msg, "does not know") {
					t.Errorf("error %q does not name %s as a status this client does not know", msg, last)
				}
				// Polling went on after the unknown status: more result
				// calls than steps.
				f.mu.Lock()
				polls := f.polls[id]
				f.mu.Unlock()
				if polls <= len(tc.steps) {
					t.Errorf("server saw %d result calls, want more than %d (Wait must keep polling an unknown status)", polls, len(tc.steps))
				}
			}
			for _, s := range wantUnknown {
				if !strings.Contains(logs.String(), "status="+string(s)) {
					t.Errorf("no warning names status %s; logs:\n%s", s, logs.String())
				}
			}
		})
	}
}

func TestKnownStatus(t *testing.T) {
	for _, s := range []client.Status{client.StatusCreated, client.StatusQueued, client.StatusPostponed, client.StatusAssigned, client.StatusProcessing, client.StatusCompleted, client.StatusError} {
		if !client.KnownStatus(s) {
			t.Errorf("KnownStatus(%s) = false, want true", s)
		}
	}
	for _, s := range []client.Status{"", "CANCELLED", "completed"} {
		if client.KnownStatus(s) {
			t.Errorf("KnownStatus(%q) = true, want false", s)
		}
	}
}

// Fields the client does not model reach programs through Task.Extra.
func TestResultExtra(t *testing.T) {
	tests := []struct {
		name  string
		extra map[string]any
		want  map[string]string // field → raw JSON
	}{
		{"none", nil, nil},
		{"a number and an object", map[string]any{"duration": 2.5, "usage": map[string]any{"characters": 5}},
			map[string]string{"duration": "2.5", "usage": `{"characters":5}`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newTestFakeAPI(t, client.StatusCompleted)
			f.extra = tc.extra
			c := f.client(t)
			task, err := c.Speak(context.Background(), client.CreateParams{Input: "hello"})
			if err != nil {
				t.Fatalf("speak: %v", err)
			}
			got := map[string]string{}
			for k, v := range task.Extra {
				got[k] = string(v)
			}
			if len(got) != len(tc.want) {
				t.Errorf("got Extra %v, want %v", got, tc.want)
			}
			for k, v := range tc.want {
				if got[k] != v {
					t.Errorf("Extra[%s] = %s, want %s", k, got[k], v)
				}
			}
			if tc.want == nil && task.Extra != nil {
				t.Errorf("got Extra %v, want nil", task.Extra)
			}
			// Task's JSON keeps them, and reads back.
			b, err := json.Marshal(task)
			if err != nil {
				t.Fatal(err)
			}
			if hasExtra := strings.Contains(string(b), `"extra":`); hasExtra != (tc.want != nil) {
				t.Errorf("Task JSON %s: has extra = %v, want %v", b, hasExtra, tc.want != nil)
			}
			var back client.Task
			if err := json.Unmarshal(b, &back); err != nil {
				t.Fatalf("read back %s: %v", b, err)
			}
			if len(back.Extra) != len(tc.want) || back.Status != task.Status || back.ID != task.ID {
				t.Errorf("read back %+v from %s, want Extra %v", back, b, tc.want)
			}
		})
	}
}

// With response validation a field or status the embedded contract does not
// know is drift, and the error names it.
func TestResponseValidationNamesTheUnknown(t *testing.T) {
	tests := []struct {
		name  string
		steps []client.Status
		extra map[string]any
		want  string
	}{
		// Names no plausible next contract has: the regeneration rehearsal
		// runs these tests against testdata/next-vendor, which adds
		// duration and CANCELLED.
		{"unknown field", []client.Status{client.StatusCompleted}, map[string]any{"debug_trace": "w7"}, `"debug_trace"`},
		{"unknown status", []client.Status{"NOT_A_STATUS"}, nil, `"NOT_A_STATUS"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newTestFakeAPI(t, tc.steps...)
			f.extra = tc.extra
			c := f.client(t, client.WithResponseValidation())
			ctx := context.Background()
			id, err := c.Create(ctx, client.CreateParams{Input: "hello"})
			if err != nil {
				t.Fatalf("create: %v", err)
			}
			_, err = c.Result(ctx, id)
			var ce *client.ContractError
			if !errors.As(err, &ce) {
				t.Fatalf("got %v, want a *ContractError", err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not name %s", err, tc.want)
			}
		})
	}
}
