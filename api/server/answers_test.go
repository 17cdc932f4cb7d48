package server

import (
	"bytes"
	"context"
	"fmt"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/distributeai/asyncspeech/api/server/auth"
	"github.com/distributeai/asyncspeech/api/store"
	"github.com/distributeai/asyncspeech/api/task"
	"github.com/distributeai/asyncspeech/generated"
	"github.com/google/uuid"
)

// heldTask is a store holding tasks the test edits between polls; only Get
// is used by the result call.
type heldTask struct {
	store.Store
	mu    sync.Mutex
	tasks map[string]task.Task
}

func (h *heldTask) Get(_ context.Context, id, owner string) (task.Task, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	t, ok := h.tasks[id]
	if !ok || t.Owner != owner {
		return task.Task{}, store.ErrNotFound
	}
	return t, nil
}

func (h *heldTask) set(t task.Task) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.tasks[t.ID] = t
}

// bucketLinks builds links whose expiry the test moves, as the signer's
// bucket does.
type bucketLinks struct {
	mu  sync.Mutex
	exp int64
}

func (b *bucketLinks) URL(id string, index int) string { return b.URLAt(id, index, b.Epoch()) }

func (b *bucketLinks) Epoch() int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.exp
}

func (b *bucketLinks) URLAt(id string, index int, epoch int64) string {
	return fmt.Sprintf("http://results.test/results/%s/%d.wav?exp=%d", id, index, epoch)
}

func (b *bucketLinks) next() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.exp += 60
}

// visit writes a result response object as the strict handler would.
func visit(t *testing.T, r generated.AsyncSpeechResultResponseObject) (int, string, []byte) {
	t.Helper()
	rec := httptest.NewRecorder()
	if err := r.VisitAsyncSpeechResultResponse(rec); err != nil {
		t.Fatalf("Visit: %v", err)
	}
	return rec.Code, rec.Header().Get("Content-Type"), rec.Body.Bytes()
}

// TestAnswerReuseIsExact polls one task through every status and field
// change with answer reuse on, and requires each answer to equal, byte for
// byte, what a server without reuse answers at that moment: the very next
// poll after any change shows it, and unchanged polls reuse the bytes.
func TestAnswerReuseIsExact(t *testing.T) {
	const key = "answers-key"
	own := auth.OwnerOf(key)
	ctx := auth.WithOwner(context.Background(), own)
	st := &heldTask{tasks: map[string]task.Task{}}
	links := &bucketLinks{exp: 1_800_000_000}
	reuse := New(st, Options{Links: links})
	fresh := New(st, Options{Links: links, Answers: -1})
	var _ EpochLinks = links
	created := time.UnixMilli(1_764_000_000_123)
	tk := task.Task{ID: uuid.NewString(), Owner: own, Model: "Chatterbox", Status: task.StatusCreated, Created: created}
	finished := created.Add(1500 * time.Millisecond)
	steps := []struct {
		name   string
		change func(*task.Task)
	}{
		{"created", func(*task.Task) {}},
		{"queued", func(t *task.Task) { t.Status = task.StatusQueued }},
		{"postponed", func(t *task.Task) { t.Status = task.StatusPostponed }},
		{"queued again", func(t *task.Task) { t.Status = task.StatusQueued }},
		{"assigned", func(t *task.Task) { t.Status = task.StatusAssigned }},
		{"processing", func(t *task.Task) { t.Status = task.StatusProcessing }},
		{"completed with one result", func(t *task.Task) {
			t.Status, t.Finished, t.Results = task.StatusCompleted, finished, []task.Result{{Index: 0, ContentType: "audio/wav", Size: 44}}
		}},
		{"next link bucket", func(*task.Task) { links.next() }},
		{"finished a millisecond later", func(t *task.Task) { t.Finished = t.Finished.Add(time.Millisecond) }},
		{"second result", func(t *task.Task) {
			t.Results = append(t.Results, task.Result{Index: 1, ContentType: "audio/wav", Size: 44})
		}},
		{"other model", func(t *task.Task) { t.Model = "Other" }},
		{"error, no results", func(t *task.Task) { t.Status, t.Results = task.StatusError, nil }},
	}
	req := generated.AsyncSpeechResultRequestObject{Body: &generated.AsyncSpeechResultJSONRequestBody{Id: tk.ID}}
	var last []byte
	for _, step := range steps {
		t.Run(step.name, func(t *testing.T) {
			step.change(&tk)
			st.set(tk)
			var first generated.AsyncSpeechResultResponseObject
			for poll := range 3 {
				got, err := reuse.AsyncSpeechResult(ctx, req)
				if err != nil {
					t.Fatalf("poll %d with reuse: %v", poll, err)
				}
				if poll == 0 {
					first = got
				} else if got != first {
					// Unchanged inputs must reuse the stored answer, or the
					// test above would pass with reuse never happening.
					t.Errorf("poll %d: got a new answer %p, want the stored one %p", poll, got, first)
				}
				want, err := fresh.AsyncSpeechResult(ctx, req)
				if err != nil {
					t.Fatalf("poll %d without reuse: %v", poll, err)
				}
				gs, gct, gb := visit(t, got)
				ws, wct, wb := visit(t, want)
				if gs != ws || gct != wct || !bytes.Equal(gb, wb) {
					t.Fatalf("poll %d: got %d %q %s, want %d %q %s", poll, gs, gct, gb, ws, wct, wb)
				}
				if poll == 0 && bytes.Equal(gb, last) {
					t.Fatalf("the first poll after %s answered the earlier bytes %s", step.name, gb)
				}
				last = gb
			}
		})
	}
	// Another key's poll of the same id: 404, reused answer or not.
	other := auth.WithOwner(context.Background(), auth.OwnerOf("another-key"))
	got, err := reuse.AsyncSpeechResult(other, req)
	if err != nil {
		t.Fatalf("other key: %v", err)
	}
	if code, _, body := visit(t, got); code != 404 {
		t.Errorf("other key: got %d %s, want 404", code, body)
	}
}

// TestAnswersBounded: however many tasks are polled, at most the set
// number of answers is held, and while there is room every one is.
func TestAnswersBounded(t *testing.T) {
	tests := []struct {
		name  string
		room  int
		tasks int
	}{
		{"fewer tasks than room", 64, 10},
		{"many more tasks than room", 64, 2000},
		{"room below one per shard", 3, 100},
		{"room not a multiple of the shards", 100, 5000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newAnswers(tt.room)
			for range tt.tasks {
				c.put(&answer{answerInputs: answerInputs{id: uuid.NewString()}, body: []byte("{}\n")})
			}
			n := 0
			for i := range c.shards {
				n += len(c.shards[i].m)
			}
			if n > tt.room {
				t.Errorf("got %d answers held, want at most %d", n, tt.room)
			}
			if tt.tasks <= tt.room && n != tt.tasks {
				t.Errorf("got %d answers held, want all %d (there is room)", n, tt.tasks)
			}
			if tt.tasks > tt.room && n == 0 {
				t.Error("got no answers held, want the cache full")
			}
		})
	}
	if newAnswers(-1) != nil {
		t.Error("newAnswers(-1): got a cache, want nil (reuse off)")
	}
}

// TestAnswerShardsEven: the ids this server hands out spread evenly over
// the shards, so the cache holds about as many answers as it has room for.
func TestAnswerShardsEven(t *testing.T) {
	c := newAnswers(0)
	var per [answerShards]int
	const n = 64000
	for range n {
		per[c.shard(uuid.NewString())]++
	}
	for i, got := range per {
		if want := n / answerShards; got < want*8/10 || got > want*12/10 {
			t.Errorf("shard %d: got %d of %d ids, want about %d", i, got, n, want)
		}
	}
}
