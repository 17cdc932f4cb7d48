package validate

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/getkin/kin-openapi/routers"
)

// postBuffered sends body as the server's body limit hands it on: read
// once into a *Body (SetBody), the form whose verdicts can be reused.
func postBuffered(t *testing.T, h http.Handler, path, contentType, body string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, path, nil)
	SetBody(req, []byte(body))
	req.Header.Set("Content-Type", contentType)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

// TestVerdictNeverReusedForOtherBytes: after a request and a response
// passed, inputs that differ from them (in one byte, in content type, in
// operation) are validated afresh and refused when invalid.
func TestVerdictNeverReusedForOtherBytes(t *testing.T) {
	okResult := `{"id":"` + validID + `","status":"QUEUED","created":1764000000.123,"model":"Chatterbox","results":[]}`
	// One byte off: a status the enum does not have.
	badResult := strings.Replace(okResult, `"QUEUED"`, `"QUEUEX"`, 1)
	if len(okResult) != len(badResult) {
		t.Fatal("test bodies must have the same length")
	}
	answer := okResult
	v, _ := newValidator(t, Options{Strict: true})
	h := v.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, answer)
	}))
	good := `{"id":"` + validID + `"}`
	// Same length, one byte off: the version nibble is no longer 4.
	bad := `{"id":"` + validID[:14] + "1" + validID[15:] + `"}`
	steps := []struct {
		name, ct, body, answer string
		want                   int
	}{
		{"first pass", "application/json", good, okResult, 200},
		{"reused pass", "application/json", good, okResult, 200},
		{"request one byte off", "application/json", bad, okResult, 400},
		{"request other content type", "text/plain", good, okResult, 415},
		{"response one byte off", "application/json", good, badResult, 500},
		{"good again", "application/json", good, okResult, 200},
	}
	for _, s := range steps {
		answer = s.answer
		rec := postBuffered(t, h, "/async/speech/result", s.ct, s.body)
		if rec.Code != s.want {
			t.Fatalf("%s: got %d (%s), want %d", s.name, rec.Code, rec.Body, s.want)
		}
	}
	st := v.VerdictStats()
	if st.Hits < 4 {
		t.Errorf("stats %+v: want at least 4 reused verdicts (request and response of the second and last call)", st)
	}
	// Another operation with the same bytes is validated against its own
	// schema: {"id"} is no create request.
	if rec := postBuffered(t, h, "/async/speech/create", "application/json", good); rec.Code != 400 {
		t.Errorf("result body sent to create: got %d, want 400", rec.Code)
	}
}

// TestVerdictComparesBytesNotHashes plants a pass under the hash of other
// bytes, as a hash collision would: it must not be reused, and when the
// other bytes pass too, both entries are kept and told apart.
func TestVerdictComparesBytesNotHashes(t *testing.T) {
	v, _ := newValidator(t, Options{})
	rt := v.routes["POST /async/speech/result"]
	c := v.verdicts
	const ct = "application/json"
	a, b := []byte(`{"id":"a"}`), []byte(`{"id":"b"}`)
	c.pass(kindRequest, rt, 0, ct, a)
	hb := c.hash(kindRequest, rt, 0, ct, b)
	s := c.shard(hb)
	s.mu.Lock()
	s.insert(hb, kindRequest, rt, 0, ct, a) // b's hash now leads to a's bytes
	s.mu.Unlock()
	if c.passed(kindRequest, rt, 0, ct, b) {
		t.Error("a pass of other bytes under the same hash was reused")
	}
	if !c.passed(kindRequest, rt, 0, ct, a) {
		t.Error("the pass of the same bytes was not reused")
	}
	c.pass(kindRequest, rt, 0, ct, b)
	if !c.passed(kindRequest, rt, 0, ct, b) {
		t.Error("b passed, yet its pass is not found beside the colliding one")
	}
	s.mu.RLock()
	if got := s.find(hb, kindRequest, rt, 0, ct, a); got < 0 {
		t.Error("b's pass displaced the colliding entry instead of joining it")
	}
	s.mu.RUnlock()
	for _, k := range []struct {
		name   string
		kind   verdictKind
		status int
		ct     string
	}{{"as a response", kindResponse, 0, ct}, {"other status", kindRequest, 200, ct}, {"other content type", kindRequest, 0, "application/json; charset=utf-8"}} {
		if c.passed(k.kind, rt, k.status, k.ct, a) {
			t.Errorf("%s: a pass was reused for another key", k.name)
		}
	}
	checkVerdicts(t, c)
}

// checkVerdicts checks the structure a lookup relies on: each shard within
// its share, the shares summing to the bound, and every slot reachable once,
// from its own hash.
func checkVerdicts(t *testing.T, c *verdicts) {
	t.Helper()
	total := 0
	for n := range c.shards {
		s := &c.shards[n]
		s.mu.RLock()
		total += s.share
		if len(s.slots) > s.share {
			t.Errorf("shard %d: got %d entries, want at most its share %d", n, len(s.slots), s.share)
		}
		seen := map[int32]bool{}
		for h, i := range s.m {
			for ; i >= 0; i = s.slots[i].next {
				if seen[i] {
					t.Fatalf("shard %d: slot %d reached twice", n, i)
				}
				seen[i] = true
				if got := s.slots[i].hash; got != h {
					t.Errorf("shard %d: slot %d holds hash %x, reached from %x", n, i, got, h)
				}
				if got := c.shard(h); got != s {
					t.Errorf("shard %d: hash %x belongs to another shard", n, h)
				}
			}
		}
		if len(seen) != len(s.slots) {
			t.Errorf("shard %d: got %d slots reachable, want all %d", n, len(seen), len(s.slots))
		}
		s.mu.RUnlock()
	}
	if total != c.max {
		t.Errorf("shares sum to %d, want the bound %d", total, c.max)
	}
}

// TestVerdictCollisionChains: entries forced onto few hashes are evicted
// from the head, the middle and the end of their chains (hits decide which)
// without losing or duplicating another entry.
func TestVerdictCollisionChains(t *testing.T) {
	rt := &routers.Route{Method: http.MethodPost, Path: "/p"}
	for _, tc := range []struct {
		name   string
		hashes int
	}{{"one hash", 1}, {"three hashes", 3}, {"all distinct", 1 << 20}} {
		t.Run(tc.name, func(t *testing.T) {
			c := newVerdicts(8)
			s := c.shard(0)
			rnd := rand.New(rand.NewPCG(1, 2))
			for i := range 500 {
				body := fmt.Appendf(nil, "%d", i)
				h := uint64(rnd.IntN(tc.hashes))
				s.mu.Lock()
				s.insert(h, kindRequest, rt, 0, "", body)
				if got := s.find(h, kindRequest, rt, 0, "", body); got < 0 {
					t.Fatalf("insert %d: got no entry for the bytes just inserted, want one", i)
				}
				// Hits on a random half give the sweep both kinds to pass.
				for j := range s.slots {
					s.slots[j].ref.Store(rnd.IntN(2) == 0)
				}
				s.mu.Unlock()
				checkVerdicts(t, c)
			}
		})
	}
}

// TestRequestWithDefaultsNotReused: kin-openapi writes defaults into a
// create body that lacks them; such a request is validated every time, and
// the handler always gets the defaults.
func TestRequestWithDefaultsNotReused(t *testing.T) {
	v, _ := newValidator(t, Options{Strict: true})
	var got []byte
	h := v.Middleware(okCreate(&got))
	for i := range 3 {
		rec := postBuffered(t, h, "/async/speech/create", "application/json", `{"model":"Chatterbox","input":"hi"}`)
		if rec.Code != 200 {
			t.Fatalf("call %d: got %d (%s), want 200", i, rec.Code, rec.Body)
		}
		var body map[string]any
		if err := json.Unmarshal(got, &body); err != nil || body["temperature"] != 0.8 {
			t.Fatalf("call %d: handler got %s, want the defaults written in", i, got)
		}
	}
	// The three identical responses ({"id"}) are reused; the requests not.
	if st := v.VerdictStats(); st.Hits != 2 {
		t.Errorf("stats %+v: want 2 hits (responses of calls 2 and 3 only)", st)
	}
}

// TestVerdictsBounded: never more than Options.Verdicts entries; off when
// negative.
func TestVerdictsBounded(t *testing.T) {
	v, _ := newValidator(t, Options{Verdicts: 4})
	h := v.Middleware(respond(200, "application/json", `{"id":"`+validID+`","status":"QUEUED","created":1,"model":"Chatterbox","results":[]}`))
	for i := range 10 {
		id := fmt.Sprintf("%s%04d", validID[:32], i)
		if rec := postBuffered(t, h, "/async/speech/result", "application/json", `{"id":"`+id+`"}`); rec.Code != 200 {
			t.Fatalf("call %d: got %d (%s)", i, rec.Code, rec.Body)
		}
		if st := v.VerdictStats(); st.Entries > 4 || st.Max != 4 {
			t.Fatalf("after %d calls: %+v, want at most 4 entries", i+1, st)
		}
	}
	off, _ := newValidator(t, Options{Verdicts: -1})
	h = off.Middleware(respond(200, "application/json", `{"id":"`+validID+`","status":"QUEUED","created":1,"model":"Chatterbox","results":[]}`))
	for range 2 {
		postBuffered(t, h, "/async/speech/result", "application/json", `{"id":"`+validID+`"}`)
	}
	if st := off.VerdictStats(); st != (VerdictStats{}) {
		t.Errorf("reuse off: stats %+v, want none", st)
	}
}

// pollBodies returns the request and the answer of n distinct finished
// tasks, shaped like the result call's: a {"id"} request and an answer of
// about 400 bytes.
func pollBodies(n int) (reqs, resps [][]byte) {
	reqs, resps = make([][]byte, n), make([][]byte, n)
	for i := range n {
		id := fmt.Sprintf("%08x-8b7d-4c6e-9f10-%012x", i*2654435761, i)
		reqs[i] = []byte(`{"id":"` + id + `"}`)
		resps[i] = []byte(`{"id":"` + id + `","status":"COMPLETED","created":1764000000.123,"model":"Chatterbox","results":[{"url":"https://files.example.com/results/` +
			id + `/0.wav?expires=1764003600&signature=` + strings.Repeat("0123456789abcdef", 8) + `","content_type":"audio/wav","index":0}],"completed":1764000001.456}`)
	}
	return reqs, resps
}

// BenchmarkVerdictsPassed is the two lookups of one polled result call
// (request and answer) with 10 000 tasks polled round-robin, so 20 000
// entries are live and a call's entries are rarely in the CPU's cache:
// the server's steady state under compare.sh's speechd-many load.
//
//	go test -run '^$' -bench 'VerdictsPassed' -cpu 1,2 ./api/validate
func BenchmarkVerdictsPassed(b *testing.B) {
	const n = 10_000
	v, err := New(context.Background(), Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatalf("New: %v", err)
	}
	rt := v.routes["POST /async/speech/result"]
	c := v.verdicts
	reqs, resps := pollBodies(n)
	for i := range n {
		c.pass(kindRequest, rt, 0, "application/json", reqs[i])
		c.pass(kindResponse, rt, 200, "application/json", resps[i])
	}
	// Lookups use copies: the server's bodies are never the stored bytes.
	for i := range n {
		reqs[i], resps[i] = bytes.Clone(reqs[i]), bytes.Clone(resps[i])
	}
	var start atomic.Int64
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := int(start.Add(n/7)) % n
		for pb.Next() {
			if !c.passed(kindRequest, rt, 0, "application/json", reqs[i]) ||
				!c.passed(kindResponse, rt, 200, "application/json", resps[i]) {
				b.Errorf("task %d: a stored pass was not reused", i)
				return
			}
			if i++; i == n {
				i = 0
			}
		}
	})
}

// TestVerdictsOff: no bound means no reuse, and a nil cache is a no-op.
func TestVerdictsOff(t *testing.T) {
	for _, max := range []int{0, -1} {
		t.Run(fmt.Sprintf("max %d", max), func(t *testing.T) {
			c := newVerdicts(max)
			if c != nil {
				t.Fatalf("newVerdicts(%d): got a cache, want nil", max)
			}
			rt := &routers.Route{}
			c.pass(kindRequest, rt, 0, "application/json", []byte("{}"))
			if c.passed(kindRequest, rt, 0, "application/json", []byte("{}")) {
				t.Error("got a reused pass from a nil cache, want none")
			}
		})
	}
}

// TestVerdictsBoundedConcurrently: inserts and hits from many goroutines
// never hold more than the bound, fill it exactly once enough distinct
// inputs passed, and leave every entry reachable (run with -race).
func TestVerdictsBoundedConcurrently(t *testing.T) {
	rt := &routers.Route{Method: http.MethodPost, Path: "/p"}
	for _, tc := range []struct {
		name string
		max  int
	}{{"one entry", 1}, {"one shard", 300}, {"uneven shares", 4099}, {"all shards", 16384}} {
		t.Run(tc.name, func(t *testing.T) {
			c := newVerdicts(tc.max)
			v := &Validator{verdicts: c}
			const workers = 8
			perWorker := 4*tc.max/workers + 1
			var wg sync.WaitGroup
			done := make(chan struct{})
			for w := range workers {
				wg.Go(func() {
					for i := range perWorker {
						body := fmt.Appendf(nil, `{"id":"%d-%d"}`, w, i)
						c.pass(kindRequest, rt, 0, "application/json", body)
						c.passed(kindRequest, rt, 0, "application/json", body)
					}
				})
			}
			watched := make(chan int)
			go func() {
				most := 0
				for {
					select {
					case <-done:
						watched <- most
						return
					default:
					}
					most = max(most, v.VerdictStats().Entries)
				}
			}()
			wg.Wait()
			close(done)
			if most := <-watched; most > tc.max {
				t.Errorf("while inserting: got %d entries, want at most %d", most, tc.max)
			}
			if st := v.VerdictStats(); st.Entries != tc.max || st.Max != tc.max {
				t.Errorf("after %d distinct passes: got %+v, want %d entries of %d", workers*perWorker, st, tc.max, tc.max)
			}
			checkVerdicts(t, c)
		})
	}
}

// TestVerdictSecondChance: an input hit now and then outlives a stream of
// one-off inputs many times the bound, which a FIFO would not allow; the
// one-offs themselves are evicted.
func TestVerdictSecondChance(t *testing.T) {
	rt := &routers.Route{Method: http.MethodPost, Path: "/p"}
	const ct = "application/json"
	for _, tc := range []struct {
		name string
		max  int
	}{{"one shard", 64}, {"32 shards", 16384}} {
		t.Run(tc.name, func(t *testing.T) {
			c := newVerdicts(tc.max)
			hot := []byte(`{"id":"hot"}`)
			c.pass(kindRequest, rt, 0, ct, hot)
			oneOff := func(i int) []byte { return fmt.Appendf(nil, `{"id":"%d"}`, i) }
			for i := range 20 * tc.max {
				// Hit once per half a bound of inserts: in any one
				// shard, about half its share.
				if i%(tc.max/2) == 0 && !c.passed(kindRequest, rt, 0, ct, hot) {
					t.Fatalf("after %d one-off inputs: got the hot input evicted, want it kept", i)
				}
				c.pass(kindRequest, rt, 0, ct, oneOff(i))
			}
			if c.passed(kindRequest, rt, 0, ct, oneOff(0)) {
				t.Error("got the first one-off input still held, want it evicted")
			}
			if !c.passed(kindRequest, rt, 0, ct, hot) {
				t.Error("got the hot input evicted at the end, want it kept")
			}
			checkVerdicts(t, c)
		})
	}
}

// TestVerdictContentTypeCounts: the client's Content-Type counts toward the
// size of what is remembered, so long parameters cannot grow the cache past
// its bound in bytes; such requests are still validated every time.
func TestVerdictContentTypeCounts(t *testing.T) {
	tests := []struct {
		name     string
		ct       string
		remember bool
	}{
		{"plain", "application/json", true},
		{"with a charset", "application/json; charset=utf-8", true},
		{"with a long parameter", "application/json; p=" + strings.Repeat("x", MaxVerdictBody), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, _ := newValidator(t, Options{})
			// A 404 answer: error answers are never remembered, so what
			// is counted below is the request's verdict alone.
			h := v.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusNotFound)
				_, _ = io.WriteString(w, `{"message":"task not found"}`)
			}))
			for range 3 {
				if rec := postBuffered(t, h, "/async/speech/result", tt.ct, `{"id":"`+validID+`"}`); rec.Code != http.StatusNotFound {
					t.Fatalf("got %d %s, want the handler's answer", rec.Code, rec.Body)
				}
			}
			st := v.VerdictStats()
			if got := st.Entries > 0; got != tt.remember {
				t.Errorf("got %d verdicts remembered (%+v), want some: %v", st.Entries, st, tt.remember)
			}
		})
	}
}

// TestRecordersReusedClean: a recorder reused after a panicking handler, a
// response the wrapping program marked its own, or a strict-mode
// replacement carries nothing into the next response.
func TestRecordersReusedClean(t *testing.T) {
	ok := `{"id":"` + validID + `","status":"QUEUED","created":1764000000.123,"model":"Chatterbox","results":[]}`
	bad := strings.Replace(ok, `"QUEUED"`, `"QUEUEX"`, 1)
	before := []struct {
		name    string
		handler func(w http.ResponseWriter)
	}{
		{"a panic", func(w http.ResponseWriter) {
			w.Header().Set("X-Leak", "1")
			w.WriteHeader(http.StatusTeapot)
			_, _ = io.WriteString(w, "partial")
			panic("boom")
		}},
		{"the program's own answer", func(w http.ResponseWriter) {
			MarkOwn(w)
			w.Header().Set("X-Leak", "1")
			w.WriteHeader(http.StatusBadGateway)
			_, _ = io.WriteString(w, "upstream down")
		}},
		{"a replaced invalid answer", func(w http.ResponseWriter) {
			w.Header().Set("X-Leak", "1")
			w.Header().Set("Content-Type", "application/json")
			_, _ = io.WriteString(w, bad)
		}},
	}
	for _, tt := range before {
		t.Run(tt.name, func(t *testing.T) {
			v, _ := newValidator(t, Options{Strict: true})
			first := true
			h := v.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if first {
					first = false
					tt.handler(w)
					return
				}
				w.Header().Set("Content-Type", "application/json")
				_, _ = io.WriteString(w, ok)
			}))
			func() {
				defer func() { _ = recover() }()
				postBuffered(t, h, "/async/speech/result", "application/json", `{"id":"`+validID+`"}`)
			}()
			for i := range 3 {
				rec := postBuffered(t, h, "/async/speech/result", "application/json", `{"id":"`+validID+`"}`)
				if rec.Code != http.StatusOK || rec.Header().Get("X-Leak") != "" || rec.Body.String() != ok {
					t.Fatalf("response %d after %s: got %d %v %s, want 200 and only the new answer", i, tt.name, rec.Code, rec.Header(), rec.Body)
				}
			}
		})
	}
}
