package client_test

import (
	"encoding/binary"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/distributeai/asyncspeech/api/client"
	"github.com/google/uuid"
)

// fakeAPI is a scripted in-memory server of the contract: each task walks
// through steps, one status per result call, and a COMPLETED task has one
// result URL serving a small WAV file. It backs the examples and the tests
// that need a well-behaved server.
type fakeAPI struct {
	*httptest.Server
	steps []client.Status
	// createdUnit scales created/finished: 1 for seconds, 1000 for ms.
	createdUnit float64
	// extra holds fields every result answer carries besides the
	// contract's, as a server on a newer contract may send.
	extra map[string]any

	mu          sync.Mutex
	polls       map[string]int // result calls per task id
	created     []string       // create bodies' input, in order
	resultCalls int
	downloadKey []string    // Authorization headers seen on downloads
	createHdr   http.Header // headers of the last create request
}

func newFakeAPI(steps ...client.Status) *fakeAPI { return newFakeAPIUnder("", steps...) }

// newFakeAPIUnder serves the API under a path prefix, the way a reverse
// proxy may publish speechd at https://host/speech.
func newFakeAPIUnder(prefix string, steps ...client.Status) *fakeAPI {
	if len(steps) == 0 {
		steps = []client.Status{client.StatusQueued, client.StatusProcessing, client.StatusCompleted}
	}
	f := &fakeAPI{steps: steps, createdUnit: 1, polls: map[string]int{}}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /async/speech/create", f.create)
	mux.HandleFunc("POST /async/speech/result", f.result)
	mux.HandleFunc("GET /files/{id}", f.file)
	// Started after f.Server is set: the handlers read f.URL.
	var h http.Handler = mux
	if prefix != "" {
		h = http.StripPrefix(prefix, mux)
	}
	f.Server = httptest.NewUnstartedServer(h)
	f.Start()
	return f
}

// newTestFakeAPI starts a fakeAPI that the test closes.
func newTestFakeAPI(t *testing.T, steps ...client.Status) *fakeAPI {
	t.Helper()
	f := newFakeAPI(steps...)
	t.Cleanup(f.Close)
	return f
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func (f *fakeAPI) create(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Authorization") == "" {
		writeJSON(w, http.StatusUnauthorized, map[string]string{"message": "missing API key"})
		return
	}
	var body struct {
		Input string `json:"input"`
		Model string `json:"model"`
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil || len(body.Input) < 2 || body.Model != "Chatterbox" {
		writeJSON(w, http.StatusBadRequest, map[string]string{"message": "input: must be 2 to 4096 characters"})
		return
	}
	id := uuid.NewString()
	f.mu.Lock()
	f.polls[id] = 0
	f.created = append(f.created, body.Input)
	f.createHdr = r.Header.Clone()
	f.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]string{"id": id})
}

func (f *fakeAPI) result(w http.ResponseWriter, r *http.Request) {
	var body struct {
		ID string `json:"id"`
	}
	json.NewDecoder(r.Body).Decode(&body)
	f.mu.Lock()
	f.resultCalls++
	n, ok := f.polls[body.ID]
	if ok {
		f.polls[body.ID] = n + 1
	}
	f.mu.Unlock()
	if !ok {
		writeJSON(w, http.StatusNotFound, map[string]string{"message": "task " + body.ID + " not found"})
		return
	}
	status := f.steps[min(n, len(f.steps)-1)]
	resp := map[string]any{
		"id":      body.ID,
		"status":  status,
		"created": 1764000000.123 * f.createdUnit,
		"model":   "Chatterbox",
		"results": []any{},
	}
	for k, v := range f.extra {
		resp[k] = v
	}
	if status.Terminal() {
		resp["finished"] = 1764000002.5 * f.createdUnit
	}
	if status == client.StatusCompleted {
		resp["results"] = []any{map[string]string{"url": f.URL + "/files/" + body.ID + "?sig=secret"}}
	}
	writeJSON(w, http.StatusOK, resp)
}

func (f *fakeAPI) file(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.downloadKey = append(f.downloadKey, r.Header.Get("Authorization"))
	f.mu.Unlock()
	if r.URL.Query().Get("sig") != "secret" {
		writeJSON(w, http.StatusForbidden, map[string]string{"message": "bad signature"})
		return
	}
	w.Header().Set("Content-Type", "audio/wav")
	w.Write(testWAV(800))
}

// lastCreateHeader returns a header of the last create request the server
// accepted.
func (f *fakeAPI) lastCreateHeader(name string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.createHdr.Get(name)
}

// downloads returns how many result files were requested so far.
func (f *fakeAPI) downloads() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.downloadKey)
}

// testWAV returns a mono 16-bit 8 kHz WAV file of n silent samples.
func testWAV(n int) []byte {
	var b strings.Builder
	put := func(v any) { binary.Write(&b, binary.LittleEndian, v) }
	b.WriteString("RIFF")
	put(uint32(36 + 2*n))
	b.WriteString("WAVEfmt ")
	put(uint32(16))
	put(uint16(1))        // PCM
	put(uint16(1))        // channels
	put(uint32(8000))     // sample rate
	put(uint32(8000 * 2)) // byte rate
	put(uint16(2))        // block align
	put(uint16(16))       // bits per sample
	b.WriteString("data")
	put(uint32(2 * n))
	b.Write(make([]byte, 2*n))
	return []byte(b.String())
}

func (f *fakeAPI) client(t testing.TB, opts ...client.Option) *client.Client {
	t.Helper()
	c, err := client.New(append([]client.Option{client.WithAPIKey("test-key"), client.WithBaseURL(f.URL)}, opts...)...)
	if err != nil {
		t.Fatalf("client.New: %v", err)
	}
	return c
}
