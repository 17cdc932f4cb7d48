package contract_test

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
)

// fakeFaults switch on one deliberate contract violation each.
type fakeFaults struct {
	// extraField: the result call's 200 carries an undocumented "debug" field.
	extraField bool
	// badID500: a result id that is not a UUIDv4 gets a 500 instead of a 4xx.
	badID500 bool
	// regress: the poll after COMPLETED says QUEUED (PROCESSING → COMPLETED → QUEUED).
	regress bool
	// openMode: any non-empty key is accepted (open development mode).
	openMode bool
	// noKeyOK: a request without a key is served (as owner "").
	noKeyOK bool
	// leaky: any valid key reads any task.
	leaky bool
	// lax: create accepts undeclared properties.
	lax bool
	// stuck: tasks never leave QUEUED.
	stuck bool
	// finishedEarly: finished is already set while PROCESSING.
	finishedEarly bool
	// noResults: COMPLETED tasks have no results.
	noResults bool
	// htmlAudio: result URLs serve an HTML page.
	htmlAudio bool
	// wrongEcho: the result call answers with another task's id.
	wrongEcho bool
	// movedResults: each poll of a COMPLETED task links another file.
	movedResults bool
	// swappedBehindQuery: each poll of a COMPLETED task renews its link's
	// query, and the file served depends on it (other samples each time).
	swappedBehindQuery bool

	// Not a fault: each poll of a COMPLETED task renews its link's query
	// (a new expiry and signature for the same file), as speechd does at an
	// expiry bucket's end and presigned object-store links do on every poll.
	renewedLinks bool
	// newStatus: after QUEUED, tasks report a status of a newer contract
	// and stay there.
	newStatus string

	// The defects only generated inputs and the response-time check find
	// (generated_test.go); each passes every fixed check.

	// nonASCII500: create answers 500 when input holds a non-ASCII character.
	nonASCII500 bool
	// noraCold500: create answers 500 for voice nora with temperature < 0.1.
	noraCold500 bool
	// multiByteMax500: create answers 500 for an input of exactly 4096
	// characters that are all multi-byte.
	multiByteMax500 bool
	// slowTenthPoll: the server's tenth result call (counting calls for tasks
	// that exist) answers after 3 s, and so does every later result call for
	// the same task.
	slowTenthPoll bool
}

// fakeServer is a small, honest in-memory fake of the speech API, written
// independently of the suite (its own hand-made validation), so that a pass
// means the suite agrees with a second reading of the spec. Each result call
// moves a task one lifecycle step on, so tests need no clock. fakeFaults
// break it on purpose.
type fakeServer struct {
	URL    string
	keys   map[string]bool
	faults fakeFaults

	mu       sync.Mutex
	tasks    map[string]*fakeTask
	creates  int
	requests int
	// polls counts result calls for existing tasks; createBodies keeps every
	// create body received, in order.
	polls        int
	createBodies []string
}

type fakeTask struct {
	owner   string
	polls   int
	created float64
	// regressed is set once the fake has broken the lifecycle.
	regressed bool
	// slow is set on the task that got the server's tenth poll.
	slow bool
}

var fakeLifecycle = []string{"CREATED", "QUEUED", "ASSIGNED_CONNECTIONS", "PROCESSING", "COMPLETED"}

var uuidV4 = regexp.MustCompile(`^[a-fA-F0-9]{8}-[a-fA-F0-9]{4}-4[a-fA-F0-9]{3}-[89abAB][a-fA-F0-9]{3}-[a-fA-F0-9]{12}$`)

// newFakeServer starts the fake; keys are the valid API keys.
func newFakeServer(t testing.TB, faults fakeFaults, keys ...string) *fakeServer {
	t.Helper()
	f := &fakeServer{keys: map[string]bool{}, faults: faults, tasks: map[string]*fakeTask{}}
	for _, k := range keys {
		f.keys[k] = true
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /async/speech/create", f.handleCreate)
	mux.HandleFunc("POST /async/speech/result", f.handleResult)
	mux.HandleFunc("GET /audio/{file}", f.handleAudio)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		f.requests++
		f.mu.Unlock()
		mux.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	f.URL = srv.URL
	return f
}

func (f *fakeServer) counts() (requests, creates int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.requests, f.creates
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeMessage(w http.ResponseWriter, status int, format string, a ...any) {
	writeJSON(w, status, map[string]string{"message": fmt.Sprintf(format, a...)})
}

// admit checks auth and content type and decodes the body into an object;
// it writes the error answer itself and returns ok=false.
func (f *fakeServer) admit(w http.ResponseWriter, r *http.Request) (owner string, body map[string]any, ok bool) {
	key := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
	switch {
	case key == "" && f.faults.noKeyOK:
	case key == "" || (!f.faults.openMode && !f.keys[key]):
		writeMessage(w, http.StatusUnauthorized, "missing or unknown API key")
		return "", nil, false
	}
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		writeMessage(w, http.StatusUnsupportedMediaType, "content type must be application/json")
		return "", nil, false
	}
	if r.ContentLength > 1<<20 {
		// Drained, so net/http need not linger half a second on the
		// connection before closing it; tests stay fast.
		_, _ = io.Copy(io.Discard, io.LimitReader(r.Body, 4<<20))
		writeMessage(w, http.StatusRequestEntityTooLarge, "body over 1 MiB")
		return "", nil, false
	}
	raw, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		writeMessage(w, http.StatusBadRequest, "unreadable body")
		return "", nil, false
	}
	if r.URL.Path == "/async/speech/create" {
		f.mu.Lock()
		f.createBodies = append(f.createBodies, string(raw))
		f.mu.Unlock()
	}
	if err := json.Unmarshal(raw, &body); err != nil || body == nil {
		writeMessage(w, http.StatusBadRequest, "body must be a JSON object")
		return "", nil, false
	}
	return key, body, true
}

func unknownField(body map[string]any, allowed ...string) string {
	for k := range body {
		found := false
		for _, a := range allowed {
			found = found || a == k
		}
		if !found {
			return k
		}
	}
	return ""
}

func (f *fakeServer) handleCreate(w http.ResponseWriter, r *http.Request) {
	owner, body, ok := f.admit(w, r)
	if !ok {
		return
	}
	if k := unknownField(body, "model", "input", "voice", "stream", "temperature", "exaggeration", "cfg_weight"); k != "" && !f.faults.lax {
		writeMessage(w, http.StatusBadRequest, "%s: unknown property", k)
		return
	}
	if m, ok := body["model"].(string); !ok || m != "Chatterbox" {
		writeMessage(w, http.StatusBadRequest, "model: must be Chatterbox")
		return
	}
	in, ok := body["input"].(string)
	if n := utf8.RuneCountInString(in); !ok || n < 2 || n > 4096 {
		writeMessage(w, http.StatusBadRequest, "input: must be a string of 2 to 4096 characters")
		return
	}
	if v, present := body["voice"]; present {
		if _, ok := v.(string); !ok {
			writeMessage(w, http.StatusBadRequest, "voice: must be a string")
			return
		}
	}
	if v, present := body["stream"]; present {
		if _, ok := v.(bool); !ok {
			writeMessage(w, http.StatusBadRequest, "stream: must be a boolean")
			return
		}
	}
	for _, name := range []string{"temperature", "exaggeration", "cfg_weight"} {
		v, present := body[name]
		if !present {
			continue
		}
		if n, ok := v.(float64); !ok || n < 0 || n > 1 {
			writeMessage(w, http.StatusBadRequest, "%s: must be a number from 0 to 1", name)
			return
		}
	}
	if f.planted500(body, in) {
		writeMessage(w, http.StatusInternalServerError, "internal error")
		return
	}
	id := uuid.NewString()
	now := float64(time.Now().UnixMilli()) / 1000
	f.mu.Lock()
	f.tasks[id] = &fakeTask{owner: owner, created: now}
	f.creates++
	f.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]string{"id": id})
}

func (f *fakeServer) handleResult(w http.ResponseWriter, r *http.Request) {
	owner, body, ok := f.admit(w, r)
	if !ok {
		return
	}
	if k := unknownField(body, "id"); k != "" {
		writeMessage(w, http.StatusBadRequest, "%s: unknown property", k)
		return
	}
	id, ok := body["id"].(string)
	if !ok {
		writeMessage(w, http.StatusBadRequest, "id: required string")
		return
	}
	if !uuidV4.MatchString(id) {
		if f.faults.badID500 {
			writeMessage(w, http.StatusInternalServerError, "internal error")
			return
		}
		writeMessage(w, http.StatusBadRequest, "id: must be a UUIDv4")
		return
	}
	f.mu.Lock()
	t, found := f.tasks[id]
	if !found || (t.owner != owner && !f.faults.leaky) {
		f.mu.Unlock()
		writeMessage(w, http.StatusNotFound, "task %s not found", id)
		return
	}
	f.polls++
	if f.faults.slowTenthPoll && f.polls == 10 {
		t.slow = true
	}
	slow := t.slow
	step := min(t.polls, len(fakeLifecycle)-1)
	status := fakeLifecycle[step]
	if f.faults.regress && (t.regressed || t.polls > len(fakeLifecycle)-1) {
		status, t.regressed = "QUEUED", true
	}
	if f.faults.stuck {
		status = "QUEUED"
	}
	if f.faults.newStatus != "" && step >= 2 {
		status = f.faults.newStatus
	}
	t.polls++
	polls := t.polls
	created := t.created
	f.mu.Unlock()
	if slow {
		time.Sleep(fakeSlowAnswer)
	}

	resp := map[string]any{"id": id, "status": status, "created": created, "model": "Chatterbox", "results": []any{}}
	if status == "COMPLETED" || (status == "PROCESSING" && f.faults.finishedEarly) {
		resp["finished"] = created + 0.25
	}
	if status == "COMPLETED" && !f.faults.noResults {
		link := f.URL + "/audio/" + id + ".wav"
		switch {
		case f.faults.movedResults:
			link = fmt.Sprintf("%s/audio/%s-%d.wav", f.URL, id, polls)
		case f.faults.renewedLinks:
			link = fmt.Sprintf("%s?exp=%d&sig=%x", link, polls, polls*7919)
		case f.faults.swappedBehindQuery:
			link = fmt.Sprintf("%s?take=%d", link, polls)
		}
		resp["results"] = []any{map[string]string{"url": link}}
	}
	if f.faults.wrongEcho {
		resp["id"] = uuid.NewString()
	}
	if f.faults.extraField {
		resp["debug"] = "worker-7"
	}
	writeJSON(w, http.StatusOK, resp)
}

// handleAudio serves a 10 ms silent WAV for any result.
func (f *fakeServer) handleAudio(w http.ResponseWriter, r *http.Request) {
	if f.faults.htmlAudio {
		w.Header().Set("Content-Type", "text/html")
		_, _ = io.WriteString(w, "<html>not found</html>")
		return
	}
	const rate, samples = 8000, 80
	var b []byte
	b = append(b, "RIFF"...)
	b = binary.LittleEndian.AppendUint32(b, 36+samples*2)
	b = append(b, "WAVEfmt "...)
	b = binary.LittleEndian.AppendUint32(b, 16)
	b = binary.LittleEndian.AppendUint16(b, 1) // PCM
	b = binary.LittleEndian.AppendUint16(b, 1) // mono
	b = binary.LittleEndian.AppendUint32(b, rate)
	b = binary.LittleEndian.AppendUint32(b, rate*2)
	b = binary.LittleEndian.AppendUint16(b, 2)
	b = binary.LittleEndian.AppendUint16(b, 16)
	b = append(b, "data"...)
	b = binary.LittleEndian.AppendUint32(b, samples*2)
	b = append(b, make([]byte, samples*2)...)
	if f.faults.swappedBehindQuery {
		// Another take of the audio for each query: other samples.
		take, _ := strconv.Atoi(r.URL.Query().Get("take"))
		b[len(b)-1] = byte(take)
	}
	w.Header().Set("Content-Type", "audio/wav")
	_, _ = w.Write(b)
}

// fakeSlowAnswer is how long slowTenthPoll's slow answers take.
const fakeSlowAnswer = 3 * time.Second

// planted500 reports whether one of the input-dependent faults fires for a
// create body that passed validation.
func (f *fakeServer) planted500(body map[string]any, input string) bool {
	nonASCII := strings.IndexFunc(input, func(r rune) bool { return r > 0x7f }) >= 0
	allMulti := strings.IndexFunc(input, func(r rune) bool { return r < 0x80 }) < 0
	temp, hasTemp := body["temperature"].(float64)
	switch {
	case f.faults.nonASCII500 && nonASCII:
		return true
	case f.faults.noraCold500 && body["voice"] == "nora" && hasTemp && temp < 0.1:
		return true
	case f.faults.multiByteMax500 && utf8.RuneCountInString(input) == 4096 && allMulti:
		return true
	}
	return false
}

// bodies returns the create bodies received so far.
func (f *fakeServer) bodies() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.createBodies...)
}
