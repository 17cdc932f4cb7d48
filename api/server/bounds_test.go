package server

import (
	"bytes"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"

	"github.com/distributeai/asyncspeech/api/server/auth"
	"github.com/distributeai/asyncspeech/api/store/memory"
	"github.com/distributeai/asyncspeech/api/validate"
)

// nested returns a create body of about size bytes: a valid create with an
// undeclared property x holding an array of small objects, the body that
// made kin-openapi allocate 60 times its size.
func nested(size int) string {
	head, tail := `{"model":"Chatterbox","input":"hi","x":[`, `{"a":1}]}`
	n := (size - len(head) - len(tail)) / len(`{"a":1},`)
	return head + strings.Repeat(`{"a":1},`, n) + tail
}

// TestHostileBodiesAllocateInProportion: whatever a body holds, one request
// allocates at most a small multiple of its operation's body limit — the
// body is cut at the limit, and structure the schema cannot accept is
// refused before kin-openapi decodes it into generic maps. Under -race the
// figures are only logged (the detector adds allocations of its own); CI
// runs this test once more without -race.
func TestHostileBodiesAllocateInProportion(t *testing.T) {
	limits, err := validate.BodyLimits(nil)
	if err != nil {
		t.Fatal(err)
	}
	createLimit := limits["POST /async/speech/create"]
	resultLimit := limits["POST /async/speech/result"]
	const key = "bounds-key"
	srv := New(memory.New(), Options{Links: testLinks{}, Logger: slog.New(slog.DiscardHandler)})
	h, err := NewHandler(srv, HandlerOptions{Logger: slog.New(slog.DiscardHandler), Auth: auth.New([]string{key})})
	if err != nil {
		t.Fatal(err)
	}
	// Allowed bytes allocated per request, as a multiple of the limit. A
	// hostile body is refused before any generic decode; a valid one is
	// decoded three times (kin-openapi's copy and decode, the generated
	// handler's decode), each growing its buffer by doubling.
	const factor = 4
	tests := []struct {
		name      string
		path      string
		body      string
		chunked   bool // no Content-Length: the limit must cut the read
		limit     int64
		want      int
		maxFactor float64
	}{
		{name: "1 MiB of nested objects", path: "/async/speech/create", body: nested(1 << 20), limit: createLimit, want: 413, maxFactor: factor},
		{name: "1 MiB of nested objects, chunked", path: "/async/speech/create", body: nested(1 << 20), chunked: true, limit: createLimit, want: 413, maxFactor: factor},
		{name: "48 KiB of nested objects", path: "/async/speech/create", body: nested(48 << 10), limit: createLimit, want: 400, maxFactor: factor},
		{name: "48 KiB of objects in a declared property", path: "/async/speech/create", body: strings.Replace(nested(48<<10), `"x":`, `"voice":`, 1), limit: createLimit, want: 400, maxFactor: factor},
		{name: "48 KiB of nested arrays", path: "/async/speech/create", body: `{"model":"Chatterbox","input":"hi","x":` + strings.Repeat("[", 24<<10) + strings.Repeat("]", 24<<10) + `}`, limit: createLimit, want: 400, maxFactor: factor},
		{name: "48 KiB of duplicate declared keys", path: "/async/speech/create", body: `{"model":"Chatterbox",` + strings.Repeat(`"input":"hi",`, (48<<10)/13) + `"input":"hi"}`, limit: createLimit, want: 400, maxFactor: factor},
		{name: "the longest valid input", path: "/async/speech/create", body: `{"model":"Chatterbox","input":"` + strings.Repeat(`\ud83d\ude00`, 4096) + `"}`, limit: createLimit, want: 200, maxFactor: 3 * factor},
		{name: "result call of nested objects", path: "/async/speech/result", body: `{"id":[` + strings.Repeat(`{"a":1},`, 100) + `{"a":1}]}`, limit: resultLimit, want: 400, maxFactor: 2 * factor},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			body := []byte(tc.body) // once: the test's own copy is not the server's cost
			serve := func() *httptest.ResponseRecorder {
				req := httptest.NewRequest(http.MethodPost, tc.path, bytes.NewReader(body))
				if tc.chunked {
					req.ContentLength = -1
					req.Body = io.NopCloser(bytes.NewReader(body))
				}
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("Authorization", key)
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, req)
				return rec
			}
			if rec := serve(); rec.Code != tc.want {
				t.Fatalf("status: got %d %s, want %d", rec.Code, rec.Body.String(), tc.want)
			}
			const runs = 20
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			for range runs {
				serve()
			}
			runtime.ReadMemStats(&after)
			perReq := float64(after.TotalAlloc-before.TotalAlloc) / runs
			t.Logf("%d-byte body: %.0f bytes allocated per request (%.2f× the %d-byte limit)", len(tc.body), perReq, perReq/float64(tc.limit), tc.limit)
			if perReq > tc.maxFactor*float64(tc.limit) && !raceEnabled {
				t.Errorf("allocated %.0f bytes per request, want at most %.0f× the operation's %d-byte limit", perReq, tc.maxFactor, tc.limit)
			}
		})
	}
}

// TestBodiesInFlight: bodies held at once are bounded (a request that finds
// no room gets 503 with Retry-After, and is served once room comes back),
// and a request to a path that is no operation is answered without its
// body being read.
func TestBodiesInFlight(t *testing.T) {
	const key = "bounds-key"
	srv := New(memory.New(), Options{Links: testLinks{}, Logger: slog.New(slog.DiscardHandler)})
	h, err := NewHandler(srv, HandlerOptions{Logger: slog.New(slog.DiscardHandler), Auth: auth.New([]string{key}), MaxBodyInFlight: 100})
	if err != nil {
		t.Fatal(err)
	}
	body := `{"model":"Chatterbox","input":"hello there"}` + strings.Repeat(" ", 30) // 74 bytes
	post := func(path string, r io.Reader, length int64) *httptest.ResponseRecorder {
		req := httptest.NewRequest(http.MethodPost, path, r)
		req.ContentLength = length
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", key)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec
	}

	// A slow client announces 74 bytes and sends 10: it holds 74 of the 100.
	pr, pw := io.Pipe()
	slowDone := make(chan *httptest.ResponseRecorder, 1)
	go func() { slowDone <- post("/async/speech/create", pr, int64(len(body))) }()
	if _, err := pw.Write([]byte(body[:10])); err != nil {
		t.Fatal(err)
	}
	// The pipe write returns once the server has read those bytes, so the
	// slow request holds its room now.
	rec := post("/async/speech/create", strings.NewReader(body), int64(len(body)))
	if rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Retry-After") == "" || !strings.Contains(rec.Body.String(), "--max-body-inflight") {
		t.Errorf("second body while the first holds its room: got %d %q Retry-After %q, want 503 naming --max-body-inflight with Retry-After",
			rec.Code, rec.Body.String(), rec.Header().Get("Retry-After"))
	}
	if _, err := pw.Write([]byte(body[10:])); err != nil {
		t.Fatal(err)
	}
	pw.Close()
	if got := <-slowDone; got.Code != http.StatusOK {
		t.Fatalf("slow create: got %d %s, want 200", got.Code, got.Body)
	}
	if rec := post("/async/speech/create", strings.NewReader(body), int64(len(body))); rec.Code != http.StatusOK {
		t.Errorf("create once room came back: got %d %s, want 200", rec.Code, rec.Body)
	}

	// A 1 MiB body to no operation: answered 404 with the body unread.
	unread := &countingReader{r: strings.NewReader(strings.Repeat("x", 1<<20))}
	if rec := post("/no/such/path", unread, 1<<20); rec.Code != http.StatusNotFound {
		t.Errorf("unknown path: got %d, want 404", rec.Code)
	}
	if unread.n > 0 {
		t.Errorf("unknown path: %d body bytes read, want none", unread.n)
	}
}

type countingReader struct {
	r io.Reader
	n int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}
