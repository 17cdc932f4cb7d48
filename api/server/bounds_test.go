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
