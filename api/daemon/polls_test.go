package daemon

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
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
			// A fixed clock: with the wall clock, a link bucket ending
			// between two polls would renew the completed task's link.
			now := time.Now()
			r := startDaemon(t, Config{Store: kind, Keys: []string{key, other}}, WithWorkersHeld(make(chan struct{})), WithClock(func() time.Time { return now }))
			if c, ok := r.d.st.(*cache.Store); !ok || c.Mode() != cache.ModeAll {
				t.Fatalf("store is %T, want the task cache in mode all (the case to pin)", r.d.st)
			}
			ctx := context.Background()
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

// TestServedLinksNeverExpired polls a finished task on speechd's wiring
// while its clock moves on past many link buckets and lifetimes: every
// answer, reused or not, carries links that live at least --link-ttl from
// that moment and download, and the link changes once its bucket is over.
func TestServedLinksNeverExpired(t *testing.T) {
	const key = "links-key"
	var mu sync.Mutex
	now := time.Unix(1_800_000_000, 0)
	clock := func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		return now
	}
	const ttl = 2 * time.Minute
	r := startDaemon(t, Config{Keys: []string{key}, LinkTTL: ttl}, WithWorkersHeld(make(chan struct{})), WithClock(clock))
	ctx := context.Background()
	id := r.create(key, "linked task")
	if _, err := r.d.st.Admit(ctx, store.AdmitOptions{Now: clock(), Limit: 1}); err != nil {
		t.Fatalf("admit: %v", err)
	}
	lease := clock().Add(time.Hour)
	if _, err := r.d.st.Claim(ctx, store.ClaimOptions{Worker: "w", Now: clock(), LeaseUntil: lease}); err != nil {
		t.Fatalf("claim: %v", err)
	}
	if err := r.d.st.Start(ctx, id, "w", lease); err != nil {
		t.Fatalf("start: %v", err)
	}
	if err := r.d.st.Complete(ctx, id, "w", clock(), []store.Audio{{ContentType: "audio/wav", Data: []byte("RIFF....WAVE")}}); err != nil {
		t.Fatalf("complete: %v", err)
	}
	seen := map[string]bool{}
	for step := range 40 { // 20 minutes in 30 s steps: ten lifetimes, twenty buckets
		code, res := r.result(key, id)
		if code != http.StatusOK || len(res.Results) != 1 {
			t.Fatalf("step %d: got %d with %d results, want 200 and one", step, code, len(res.Results))
		}
		u, err := url.Parse(res.Results[0].URL)
		if err != nil {
			t.Fatalf("step %d: link %q: %v", step, res.Results[0].URL, err)
		}
		exp, err := strconv.ParseInt(u.Query().Get("exp"), 10, 64)
		if err != nil {
			t.Fatalf("step %d: link %q has no expiry: %v", step, u, err)
		}
		if left := time.Unix(exp, 0).Sub(clock()); left < ttl {
			t.Fatalf("step %d: served a link that lives %v more, want at least %v: %s", step, left, ttl, u)
		}
		if code, _, body := r.call(http.MethodGet, u.RequestURI(), "", ""); code != http.StatusOK {
			t.Fatalf("step %d: download of a served link got %d %s, want 200", step, code, body)
		}
		seen[u.Query().Get("exp")] = true
		mu.Lock()
		now = now.Add(30 * time.Second)
		mu.Unlock()
	}
	if len(seen) < 15 {
		t.Errorf("got %d distinct link expiries over 20 minutes, want one per minute bucket (about 20)", len(seen))
	}
}

// TestTaskCacheMetrics: the task cache's and the validator's counters
// reach /metrics, and a second poll of a task is a hit of both.
func TestTaskCacheMetrics(t *testing.T) {
	const key = "metrics-key"
	r := startDaemon(t, Config{Keys: []string{key}}, WithWorkersHeld(make(chan struct{})))
	id := r.create(key, "counted task")
	for range 2 {
		if code, _ := r.result(key, id); code != http.StatusOK {
			t.Fatalf("poll: got %d, want 200", code)
		}
	}
	_, _, body := r.call(http.MethodGet, "/metrics", "", "")
	for _, want := range []string{
		"speechd_task_cache_hits_total 1", "speechd_task_cache_misses_total 1", "speechd_task_cache_entries 1",
		// create: request and response checked; first poll: request and
		// answer checked; second poll: both reused.
		"speechd_validation_checked_total 4", "speechd_validation_reused_total 2",
		"speechd_validation_cache_entries 3", "speechd_validation_cache_max 32768",
	} {
		if !strings.Contains(string(body), want+"\n") {
			t.Errorf("got /metrics without %q:\n%s", want, grepLines(string(body), "speechd_task_cache")+"\n"+grepLines(string(body), "speechd_validation"))
		}
	}
}

// grepLines returns the lines of s that contain sub.
func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
