package daemon

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/distributeai/asyncspeech/api/store"
	"github.com/distributeai/asyncspeech/api/store/cache"
)

// TestNextPollSeesEveryTransition drives tasks through all seven statuses
// by hand (workers held) on speechd's own wiring, memory and SQLite, and
// polls over HTTP after every store write: the very first poll after a
// write shows it, through all three of the result call's caches (the task
// read, the encoded answer, the reused verdicts), and a second poll gives
// the same bytes. Another key's poll is 404 throughout.
func TestNextPollSeesEveryTransition(t *testing.T) {
	for _, kind := range []string{"memory", "sqlite"} {
		t.Run(kind, func(t *testing.T) {
			const key, other = "polls-key", "other-key"
			r := startDaemon(t, Config{Store: kind, Keys: []string{key, other}}, WithWorkersHeld(make(chan struct{})))
			if c, ok := r.d.st.(*cache.Store); !ok || c.Mode() != cache.ModeAll {
				t.Fatalf("store is %T, want the task cache in mode all (the case to pin)", r.d.st)
			}
			ctx := context.Background()
			now := time.Now()
			lease := now.Add(time.Minute)
			done := r.create(key, "first task")
			var failed string
			steps := []struct {
				name string
				id   *string
				do   func() error
				want string
			}{
				{"created", &done, func() error { return nil }, "CREATED"},
				{"admitted", &done, func() error { _, err := r.d.st.Admit(ctx, store.AdmitOptions{Now: now, Limit: 1}); return err }, "QUEUED"},
				{"claimed", &done, func() error {
					_, err := r.d.st.Claim(ctx, store.ClaimOptions{Worker: "w", Now: now, LeaseUntil: lease})
					return err
				}, "ASSIGNED_CONNECTIONS"},
				{"started", &done, func() error { return r.d.st.Start(ctx, done, "w", lease) }, "PROCESSING"},
				{"postponed", &done, func() error { return r.d.st.Postpone(ctx, done, "w", now, "engine busy") }, "POSTPONED"},
				{"admitted again", &done, func() error {
					_, err := r.d.st.Admit(ctx, store.AdmitOptions{Now: now.Add(time.Second), Limit: 1})
					return err
				}, "QUEUED"},
				{"claimed again", &done, func() error {
					_, err := r.d.st.Claim(ctx, store.ClaimOptions{Worker: "w", Now: now, LeaseUntil: lease})
					return err
				}, "ASSIGNED_CONNECTIONS"},
				{"started again", &done, func() error { return r.d.st.Start(ctx, done, "w", lease) }, "PROCESSING"},
				{"completed", &done, func() error {
					return r.d.st.Complete(ctx, done, "w", now, []store.Audio{{ContentType: "audio/wav", Data: []byte("RIFF....WAVE")}})
				}, "COMPLETED"},
				{"second task created", &failed, func() error { failed = r.create(key, "second task"); return nil }, "CREATED"},
				{"second task admitted", &failed, func() error { _, err := r.d.st.Admit(ctx, store.AdmitOptions{Now: now, Limit: 1}); return err }, "QUEUED"},
				{"second task claimed", &failed, func() error {
					_, err := r.d.st.Claim(ctx, store.ClaimOptions{Worker: "w", Now: now, LeaseUntil: lease})
					return err
				}, "ASSIGNED_CONNECTIONS"},
				{"second task failed", &failed, func() error { return r.d.st.Fail(ctx, failed, "w", now, "engine crashed") }, "ERROR"},
			}
			last := map[string]string{}
			for _, step := range steps {
				if err := step.do(); err != nil {
					t.Fatalf("%s: %v", step.name, err)
				}
				id := *step.id
				code, _, first := r.call(http.MethodPost, "/async/speech/result", key, `{"id":"`+id+`"}`)
				if code != http.StatusOK || !strings.Contains(string(first), `"status":"`+step.want+`"`) {
					t.Fatalf("%s: first poll got %d %s, want 200 with status %s", step.name, code, first, step.want)
				}
				if string(first) == last[id] {
					t.Fatalf("%s: first poll answered the bytes of the poll before: %s", step.name, first)
				}
				if _, _, again := r.call(http.MethodPost, "/async/speech/result", key, `{"id":"`+id+`"}`); string(again) != string(first) {
					t.Errorf("%s: second poll got %s, want the same as the first %s", step.name, again, first)
				}
				if code, _, b := r.call(http.MethodPost, "/async/speech/result", other, `{"id":"`+id+`"}`); code != http.StatusNotFound {
					t.Errorf("%s: another key's poll got %d %s, want 404", step.name, code, b)
				}
				last[id] = string(first)
			}
			if !strings.Contains(last[done], `"url":"`) {
				t.Errorf("the completed task's answer has no result link: %s", last[done])
			}
		})
	}
}
