package server

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"unsafe"

	"github.com/distributeai/asyncspeech/api/task"
	"github.com/distributeai/asyncspeech/generated"
)

// Answer reuse. Clients poll the result call far more often than anything
// else, and a task's answer is a pure function of a few of its fields (id,
// status, created, model, finished, the indices of its results) and of the
// epoch of its links (EpochLinks: a link is a pure function of task, index
// and epoch). So the server keeps the encoded 200 answer of recently polled
// tasks together with exactly those inputs, and reuses the bytes only when
// every input is equal: the next poll after any transition, and the first
// poll in a new link epoch, encode afresh. What is saved per poll is
// building the response value, signing its links, encoding it with
// reflection, and the allocations of all three.

// DefaultAnswers is Options.Answers when 0: the answers of about 16 000
// distinct polled tasks, about 10 MiB of ordinary answers.
const DefaultAnswers = 16384

// maxAnswerBody is the largest encoded answer kept: a task with a handful
// of results; a larger one is encoded on every poll.
const maxAnswerBody = 4 << 10

// answerShards spreads the answers over locks, so concurrent polls of
// different tasks rarely wait for one another.
const answerShards = 16

// answer is one task's encoded 200 answer and the inputs it was made from.
// It is immutable once stored, so it can be handed out as the response
// object itself (no allocation on a reuse).
type answer struct {
	answerInputs
	indices []int // of the task's results, in order
	body    []byte
}

// VisitAsyncSpeechResultResponse writes the answer as the generated
// AsyncSpeechResult200JSONResponse would: same header, status and bytes.
func (a *answer) VisitAsyncSpeechResultResponse(w http.ResponseWriter) error {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	_, err := w.Write(a.body)
	return err
}

var _ generated.AsyncSpeechResultResponseObject = (*answer)(nil)

// same reports whether a was made from exactly the inputs k and the
// results rs.
func (a *answer) same(k *answerInputs, rs []task.Result) bool {
	if a.answerInputs != *k || len(a.indices) != len(rs) {
		return false
	}
	for i, r := range rs {
		if a.indices[i] != r.Index {
			return false
		}
	}
	return true
}

// answerInputs are what a task's 200 answer is made from.
type answerInputs struct {
	id       string
	status   task.Status
	created  float64
	model    string
	finished float64
	done     bool  // finished is set
	epoch    int64 // of the result links
}

// answers is a bounded set of encoded answers: at most the number given to
// newAnswers in all, spread over shards.
type answers struct {
	shards [answerShards]answerShard
}

// answerShard is one lock's share of the answers.
type answerShard struct {
	mu   sync.RWMutex
	m    map[string]*answer
	room int // answers this shard may hold
	// Padding keeps each shard's lock on cache lines of its own, so polls
	// on two cores do not write a line that both use.
	_ [128 - (unsafe.Sizeof(sync.RWMutex{})+unsafe.Sizeof(map[string]*answer(nil))+unsafe.Sizeof(0))%128]byte
}

// newAnswers returns room for n answers in all (the first n%16 shards get
// one more than the rest); nil (reuse off) when n < 0.
func newAnswers(n int) *answers {
	if n < 0 {
		return nil
	}
	if n == 0 {
		n = DefaultAnswers
	}
	a := &answers{}
	for i := range a.shards {
		a.shards[i].m = make(map[string]*answer)
		a.shards[i].room = n / answerShards
		if i < n%answerShards {
			a.shards[i].room++
		}
	}
	return a
}

// shard picks the shard of a task id from its last character: random hex
// in every id this server hands out (a UUIDv4's last 12 digits are random),
// so the shards fill evenly.
func (c *answers) shard(id string) int {
	if id == "" {
		return 0
	}
	ch := id[len(id)-1]
	switch {
	case ch >= '0' && ch <= '9':
		return int(ch - '0')
	case ch >= 'a' && ch <= 'f':
		return int(ch-'a') + 10
	default:
		return int(ch) & (answerShards - 1)
	}
}

// get returns the stored answer of task k.id when it was made from exactly
// the inputs k and results rs, else nil.
func (c *answers) get(k *answerInputs, rs []task.Result) *answer {
	if c == nil {
		return nil
	}
	s := &c.shards[c.shard(k.id)]
	s.mu.RLock()
	a := s.m[k.id]
	s.mu.RUnlock()
	if a != nil && a.same(k, rs) {
		return a
	}
	return nil
}

// put stores a, dropping an arbitrary other answer of its shard when the
// shard is full (Go's map iteration starts at a random entry).
func (c *answers) put(a *answer) {
	if c == nil || len(a.body) > maxAnswerBody {
		return
	}
	s := &c.shards[c.shard(a.id)]
	if s.room == 0 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.m[a.id]; !ok && len(s.m) >= s.room {
		for k := range s.m {
			delete(s.m, k)
			break
		}
	}
	s.m[a.id] = a
}

// encodeAnswer encodes resp exactly as the generated response's Visit
// method does (json.Encoder: HTML-safe escaping, a trailing newline).
func encodeAnswer(resp generated.AsyncSpeechResult200JSONResponse) ([]byte, error) {
	var buf bytes.Buffer
	if err := json.NewEncoder(&buf).Encode(resp); err != nil {
		return nil, fmt.Errorf("encode answer of task %s: %w", resp.Id, err)
	}
	return buf.Bytes(), nil
}
