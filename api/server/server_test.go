package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/distributeai/asyncspeech/api/task"
	"github.com/distributeai/asyncspeech/api/validate"

	"github.com/distributeai/asyncspeech/api/server/auth"
	"github.com/distributeai/asyncspeech/api/store"
	"github.com/distributeai/asyncspeech/api/store/memory"
	"github.com/distributeai/asyncspeech/generated"
)

const (
	keyA      = "key-a"
	keyB      = "key-b"
	unknownID = "3f1c2a9e-8b7d-4c6e-9f10-2a3b4c5d6e7f"
)

func TestBadInput(t *testing.T) {
	s := newStack(t, stackConfig{})
	json := "application/json"
	big := `{"model":"Chatterbox","input":"` + strings.Repeat("a", 2<<20) + `"}`
	limits, err := validate.BodyLimits(nil)
	if err != nil {
		t.Fatal(err)
	}
	createLimit := limits["POST /async/speech/create"]
	tests := []struct {
		name    string
		path    string // "create" or "result"
		ct      string
		key     string
		body    string
		noBody  bool
		want    int
		wantMsg string
	}{
		{name: "create: the longest valid input, every character an escaped surrogate pair", path: "create", ct: json, body: `{"model":"Chatterbox","input":"` + strings.Repeat(`\ud83d\ude00`, 4096) + `","voice":"` + strings.Repeat(`\u00e9`, 256) + `"}`, want: 404, wantMsg: "not found"},
		{name: "create: missing body", path: "create", ct: json, noBody: true, want: 400, wantMsg: "request body is required"},
		{name: "create: empty object", path: "create", ct: json, body: `{}`, want: 400, wantMsg: "property is required"},
		{name: "create: extra property", path: "create", ct: json, body: `{"model":"Chatterbox","input":"hi","speed":2}`, want: 400, wantMsg: `property "speed" is unsupported`},
		{name: "create: input a number", path: "create", ct: json, body: `{"model":"Chatterbox","input":42}`, want: 400, wantMsg: "input: value must be a string"},
		{name: "create: temperature a string", path: "create", ct: json, body: `{"model":"Chatterbox","input":"hi","temperature":"hot"}`, want: 400, wantMsg: "temperature: value must be a number"},
		{name: "create: stream a string", path: "create", ct: json, body: `{"model":"Chatterbox","input":"hi","stream":"yes"}`, want: 400, wantMsg: "stream: value must be a boolean"},
		{name: "create: voice a number", path: "create", ct: json, body: `{"model":"Chatterbox","input":"hi","voice":1}`, want: 400, wantMsg: "voice:"},
		{name: "create: body an array", path: "create", ct: json, body: `[]`, want: 400, wantMsg: "value must be an object"},
		{name: "create: input of 1 character", path: "create", ct: json, body: `{"model":"Chatterbox","input":"a"}`, want: 400, wantMsg: "input: minimum string length is 2"},
		{name: "create: input of 4097 characters", path: "create", ct: json, body: `{"model":"Chatterbox","input":"` + strings.Repeat("é", 4097) + `"}`, want: 400, wantMsg: "input: maximum string length is 4096"},
		{name: "create: temperature above 1", path: "create", ct: json, body: `{"model":"Chatterbox","input":"hi","temperature":1.01}`, want: 400, wantMsg: "temperature: number must be at most 1"},
		{name: "create: exaggeration below 0", path: "create", ct: json, body: `{"model":"Chatterbox","input":"hi","exaggeration":-0.5}`, want: 400, wantMsg: "exaggeration: number must be at least 0"},
		{name: "create: cfg_weight 2", path: "create", ct: json, body: `{"model":"Chatterbox","input":"hi","cfg_weight":2}`, want: 400, wantMsg: "cfg_weight: number must be at most 1"},
		{name: "create: unknown model", path: "create", ct: json, body: `{"model":"Bark","input":"hi"}`, want: 400, wantMsg: "model: value is not one of the allowed values"},
		{name: "create: model missing", path: "create", ct: json, body: `{"input":"hi"}`, want: 400, wantMsg: "model: property is required"},
		{name: "create: unknown voice file", path: "create", ct: json, body: `{"model":"Chatterbox","input":"hi","voice":"file-abc123"}`, want: 404, wantMsg: `voice "file-abc123" not found`},
		{name: "create: not JSON", path: "create", ct: json, body: `model=Chatterbox`, want: 400, wantMsg: "not valid JSON"},
		{name: "create: trailing garbage", path: "create", ct: json, body: `{"model":"Chatterbox","input":"hi"}}`, want: 400, wantMsg: "not valid JSON"},
		{name: "create: invalid UTF-8", path: "create", ct: json, body: "{\"model\":\"Chatterbox\",\"input\":\"ab\xc3\x28\"}", want: 400, wantMsg: "not valid UTF-8"},
		{name: "create: text/plain", path: "create", ct: "text/plain", body: `{"model":"Chatterbox","input":"hi"}`, want: 415, wantMsg: "content type must be application/json"},
		{name: "create: no content type", path: "create", body: `{"model":"Chatterbox","input":"hi"}`, want: 415, wantMsg: "content type must be application/json"},
		{name: "create: oversized body", path: "create", ct: json, body: big, want: 413, wantMsg: fmt.Sprintf("larger than %d bytes (the largest body a valid request of POST /async/speech/create can have)", createLimit)},
		{name: "create: over the create limit, under --max-body", path: "create", ct: json, body: `{"model":"Chatterbox","input":"hi","x":"` + strings.Repeat("a", int(createLimit)) + `"}`, want: 413, wantMsg: "larger than"},
		{name: "create: hostile nested objects", path: "create", ct: json, body: `{"model":"Chatterbox","input":"hi","x":[` + strings.Repeat(`{"a":1},`, 5000) + `{"a":1}]}`, want: 400, wantMsg: `property "x" is unsupported`},
		{name: "create: object where a string goes", path: "create", ct: json, body: `{"model":"Chatterbox","input":{"a":[1,2,3]}}`, want: 400, wantMsg: "input: value must be a string"},
		{name: "create: temperature null", path: "create", ct: json, body: `{"model":"Chatterbox","input":"hi","temperature":null}`, want: 400, wantMsg: "temperature: must not be null"},
		{name: "create: voice null", path: "create", ct: json, body: `{"model":"Chatterbox","input":"hi","voice":null}`, want: 400, wantMsg: "voice: must not be null"},
		{name: "create: no key", path: "create", ct: json, key: "-", body: `{"model":"Chatterbox","input":"hi"}`, want: 401, wantMsg: "missing API key"},
		// Auth reads only a header and runs before the body is read, so an
		// unauthenticated client cannot make the server buffer a body.
		{name: "create: no key, oversized body", path: "create", ct: json, key: "-", body: big, want: 401, wantMsg: "missing API key"},
		{name: "result: missing body", path: "result", ct: json, noBody: true, want: 400, wantMsg: "request body is required"},
		{name: "result: empty object", path: "result", ct: json, body: `{}`, want: 400, wantMsg: "id: property is required"},
		{name: "result: extra property", path: "result", ct: json, body: `{"id":"` + unknownID + `","x":1}`, want: 400, wantMsg: `property "x" is unsupported`},
		{name: "result: id a number", path: "result", ct: json, body: `{"id":12}`, want: 400, wantMsg: "id: value must be a string"},
		{name: "result: malformed id", path: "result", ct: json, body: `{"id":"not-a-uuid"}`, want: 400, wantMsg: "id: must be a UUID version 4"},
		{name: "result: non-v4 id", path: "result", ct: json, body: `{"id":"6ba7b810-9dad-11d1-80b4-00c04fd430c8"}`, want: 400, wantMsg: "id: must be a UUID version 4"},
		{name: "result: null body", path: "result", ct: json, body: `null`, want: 400, wantMsg: "request body: must be a JSON object"},
		{name: "create: null body", path: "create", ct: json, body: `null`, want: 400, wantMsg: "request body: must be a JSON object"},
		{name: "result: unknown id", path: "result", ct: json, body: `{"id":"` + unknownID + `"}`, want: 404, wantMsg: "task " + unknownID + " not found"},
		{name: "result: text/plain", path: "result", ct: "text/plain", body: `{"id":"` + unknownID + `"}`, want: 415, wantMsg: "content type"},
		{name: "result: oversized body", path: "result", ct: json, body: `{"id":"` + strings.Repeat(" ", 2<<20) + `"}`, want: 413, wantMsg: "larger than"},
		{name: "result: invalid UTF-8", path: "result", ct: json, body: "{\"id\":\"\xff\"}", want: 400, wantMsg: "not valid UTF-8"},
		{name: "result: no key", path: "result", ct: json, key: "-", body: `{"id":"` + unknownID + `"}`, want: 401, wantMsg: "missing API key"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s.t = t
			key := tc.key
			switch key {
			case "":
				key = keyA
			case "-":
				key = ""
			}
			var body []byte
			if !tc.noBody {
				body = []byte(tc.body)
			}
			r := s.do(http.MethodPost, "/async/speech/"+tc.path, key, tc.ct, body)
			if r.status != tc.want {
				t.Fatalf("status: got %d, want %d (body %.200s)", r.status, tc.want, r.body)
			}
			if msg := r.message(t); !strings.Contains(msg, tc.wantMsg) {
				t.Errorf("message: got %q, want it to contain %q", msg, tc.wantMsg)
			}
			// The server keeps serving after every bad request.
			s.createID(keyA)
		})
	}
}

// TestBareServerChecksToo runs the same kind of bad input through the stack
// without the spec validator: the server's own checks keep every answer a
// typed {"message"}, never a 500.
func TestBareServerChecksToo(t *testing.T) {
	s := newStack(t, stackConfig{bare: true})
	tests := []struct {
		name, path, body string
		want             int
	}{
		{"input too short", "create", `{"model":"Chatterbox","input":"a"}`, 400},
		{"unknown model", "create", `{"model":"Bark","input":"hi"}`, 400},
		{"temperature above 1", "create", `{"model":"Chatterbox","input":"hi","temperature":3}`, 400},
		{"input a number", "create", `{"model":"Chatterbox","input":3}`, 400},
		{"voice a number", "create", `{"model":"Chatterbox","input":"hi","voice":3}`, 400},
		{"unknown voice", "create", `{"model":"Chatterbox","input":"hi","voice":"v1"}`, 404},
		{"broken JSON", "create", `{"model"`, 400},
		{"malformed id", "result", `{"id":"nope"}`, 400},
		{"non-v4 id", "result", `{"id":"6ba7b810-9dad-11d1-80b4-00c04fd430c8"}`, 400},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s.t = t
			r := s.do(http.MethodPost, "/async/speech/"+tc.path, keyA, "application/json", []byte(tc.body))
			if r.status != tc.want {
				t.Fatalf("status: got %d, want %d (body %s)", r.status, tc.want, r.body)
			}
			r.message(t)
		})
	}
}

func TestCreateAppliesDefaults(t *testing.T) {
	tests := []struct {
		name string
		body string
		want task.Params
	}{
		{"all defaults", `{"model":"Chatterbox","input":"hello"}`,
			task.Params{Input: "hello", Voice: "leo", Temperature: 0.8, Exaggeration: 0.5, CfgWeight: 0.5}},
		{"everything set", `{"model":"Chatterbox","input":"hello","voice":"nora","stream":true,"temperature":0,"exaggeration":1,"cfg_weight":0.25}`,
			task.Params{Input: "hello", Voice: "nora", Stream: true, Temperature: 0, Exaggeration: 1, CfgWeight: 0.25}},
		{"4096 characters", `{"model":"Chatterbox","input":"` + strings.Repeat("ü", 4096) + `"}`,
			task.Params{Input: strings.Repeat("ü", 4096), Voice: "leo", Temperature: 0.8, Exaggeration: 0.5, CfgWeight: 0.5}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := newStack(t, stackConfig{})
			r := s.create(keyA, tc.body)
			if r.status != 200 {
				t.Fatalf("create: got %d %s, want 200", r.status, r.body)
			}
			var out struct{ ID string }
			if err := json.Unmarshal(r.body, &out); err != nil {
				t.Fatal(err)
			}
			tk, err := s.store.Get(context.Background(), out.ID, auth.OwnerOf(keyA))
			if err != nil {
				t.Fatalf("stored task: %v", err)
			}
			if tk.Params != tc.want {
				t.Errorf("params: got %+v, want %+v", tk.Params, tc.want)
			}
			if tk.Status != task.StatusCreated || tk.Model != "Chatterbox" {
				t.Errorf("got status %s model %q, want CREATED Chatterbox", tk.Status, tk.Model)
			}
		})
	}
}

type resultBody struct {
	ID       string   `json:"id"`
	Status   string   `json:"status"`
	Created  float64  `json:"created"`
	Finished *float64 `json:"finished"`
	Model    string   `json:"model"`
	Results  []struct {
		URL string `json:"url"`
	} `json:"results"`
}

func TestResultLifecycle(t *testing.T) {
	clock := time.Date(2026, 11, 24, 14, 0, 0, 123_000_000, time.UTC)
	s := newStack(t, stackConfig{now: func() time.Time { return clock }})
	id := s.createID(keyA)

	r := s.result(keyA, id)
	if r.status != 200 {
		t.Fatalf("result: got %d %s, want 200", r.status, r.body)
	}
	if !strings.Contains(string(r.body), `"results":[]`) {
		t.Errorf("results of a new task: got %s, want []", r.body)
	}
	var got resultBody
	if err := json.Unmarshal(r.body, &got); err != nil {
		t.Fatal(err)
	}
	if got.ID != id || got.Status != "CREATED" || got.Model != "Chatterbox" || got.Finished != nil {
		t.Errorf("got %+v, want id %s CREATED Chatterbox without finished", got, id)
	}
	if want := float64(clock.Unix()) + 0.123; got.Created != want {
		t.Errorf("created: got %v, want %v (Unix seconds with ms fraction)", got.Created, want)
	}

	// Drive the task to COMPLETED the way a worker does.
	ctx := context.Background()
	st := s.store
	if _, err := st.Admit(ctx, store.AdmitOptions{Now: clock, Limit: 10}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Claim(ctx, store.ClaimOptions{Worker: "w", Now: clock, LeaseUntil: clock.Add(time.Minute)}); err != nil {
		t.Fatal(err)
	}
	if err := st.Start(ctx, id, "w", clock.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	done := clock.Add(2500 * time.Millisecond)
	audio := []store.Audio{{ContentType: "audio/wav", Data: []byte("RIFF")}, {ContentType: "audio/wav", Data: []byte("RIFF2")}}
	if err := st.Complete(ctx, id, "w", done, audio); err != nil {
		t.Fatal(err)
	}
	r = s.result(keyA, strings.ToUpper(id))
	if r.status != 200 {
		t.Fatalf("result after completion (id in uppercase): got %d %s, want 200", r.status, r.body)
	}
	got = resultBody{}
	if err := json.Unmarshal(r.body, &got); err != nil {
		t.Fatal(err)
	}
	if want := float64(clock.Unix()) + 2.623; got.Status != "COMPLETED" || got.Finished == nil || *got.Finished != want {
		t.Errorf("got status %s finished %v, want COMPLETED %v", got.Status, got.Finished, want)
	}
	if len(got.Results) != 2 || got.Results[1].URL != (testLinks{}).URL(id, 1) {
		t.Errorf("results: got %+v, want 2 links from the link builder", got.Results)
	}
}

func TestIsolation(t *testing.T) {
	for _, mode := range []struct {
		name string
		keys []string
	}{{"dev mode", nil}, {"configured keys", []string{keyA, keyB}}} {
		t.Run(mode.name, func(t *testing.T) {
			s := newStack(t, stackConfig{keys: mode.keys})
			id := s.createID(keyA)
			if r := s.result("Bearer "+keyA, id); r.status != 200 {
				t.Fatalf("owner (as Bearer): got %d %s, want 200", r.status, r.body)
			}
			other := s.result(keyB, id)
			if other.status != 404 {
				t.Fatalf("other key: got %d %s, want 404", other.status, other.body)
			}
			// Same answer as for an id that exists for nobody, so the other
			// key learns nothing.
			if want := fmt.Sprintf(`{"message":"task %s not found"}`+"\n", id); string(other.body) != want {
				t.Errorf("other key body: got %q, want %q", other.body, want)
			}
			if mode.keys != nil {
				if r := s.result("key-c", id); r.status != 401 {
					t.Errorf("unconfigured key: got %d, want 401", r.status)
				}
			}
		})
	}
}

func TestStoreFailures(t *testing.T) {
	tests := []struct {
		name   string
		fs     *faultyStore
		path   string
		want   int
		secret string
	}{
		{"create store down", &faultyStore{createErr: errors.New("disk on fire at /var/secret")}, "create", 503, "disk on fire"},
		{"result store down", &faultyStore{getErr: errors.New("connection refused 10.0.0.7")}, "result", 503, "10.0.0.7"},
		{"result panic", &faultyStore{getPanic: true}, "result", 500, "secret internals"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.fs.Store = memory.New()
			s := newStack(t, stackConfig{store: tc.fs})
			var r reply
			if tc.path == "create" {
				r = s.create(keyA, `{"model":"Chatterbox","input":"hi"}`)
			} else {
				r = s.result(keyA, unknownID)
			}
			if r.status != tc.want {
				t.Fatalf("got %d %s, want %d", r.status, r.body, tc.want)
			}
			if msg := r.message(t); strings.Contains(msg, tc.secret) {
				t.Errorf("message %q leaks internal detail %q", msg, tc.secret)
			}
			if !strings.Contains(s.logs.String(), tc.secret) {
				t.Errorf("log lacks the cause %q", tc.secret)
			}
			// Still serving.
			if r := s.do(http.MethodPost, "/async/speech/result", keyA, "application/json", []byte(`{"id":"x"}`)); r.status != 400 {
				t.Errorf("next request: got %d, want 400", r.status)
			}
		})
	}
}

// TestOutOfSpecResponseCaught: a task whose status is outside the vendor's
// enum makes the server produce a response the spec forbids; the response
// validator replaces it with a 500 {"message"} and logs where it failed.
func TestOutOfSpecResponseCaught(t *testing.T) {
	fs := &faultyStore{Store: memory.New(), status: "HALF_DONE"}
	s := newStack(t, stackConfig{store: fs})
	id := s.createID(keyA)
	r := s.result(keyA, id)
	if r.status != 500 {
		t.Fatalf("got %d %s, want 500", r.status, r.body)
	}
	if msg := r.message(t); strings.Contains(msg, "HALF_DONE") {
		t.Errorf("message leaks the bad response: %q", msg)
	}
	if logs := s.logs.String(); !strings.Contains(logs, "response violates the API contract") || !strings.Contains(logs, "failing_path=/status") {
		t.Errorf("violation not logged with its path: %s", logs)
	}
}

func TestRateLimit(t *testing.T) {
	var mu sync.Mutex
	clock := time.Unix(1_800_000_000, 0)
	now := func() time.Time { mu.Lock(); defer mu.Unlock(); return clock }
	s := newStack(t, stackConfig{handler: HandlerOptions{RateLimit: 0.5, RateBurst: 2, Now: now}})
	for i := 0; i < 2; i++ {
		if r := s.result(keyA, unknownID); r.status != 404 {
			t.Fatalf("request %d within burst: got %d, want 404", i, r.status)
		}
	}
	r := s.result(keyA, unknownID)
	if r.status != 429 {
		t.Fatalf("beyond burst: got %d, want 429", r.status)
	}
	if got := r.header.Get("Retry-After"); got != "2" {
		t.Errorf("Retry-After: got %q, want 2 (one token at 0.5/s)", got)
	}
	r.message(t)
	if r := s.result(keyB, unknownID); r.status != 404 {
		t.Errorf("another key: got %d, want 404 (buckets are per key)", r.status)
	}
	mu.Lock()
	clock = clock.Add(2 * time.Second)
	mu.Unlock()
	if r := s.result(keyA, unknownID); r.status != 404 {
		t.Errorf("after refill: got %d, want 404", r.status)
	}
}

func TestGate(t *testing.T) {
	g := &Gate{}
	s := newStack(t, stackConfig{handler: HandlerOptions{Gate: g}})
	if r := s.result(keyA, unknownID); r.status != 404 {
		t.Fatalf("open gate: got %d, want 404", r.status)
	}
	g.Close()
	r := s.result(keyA, unknownID)
	if r.status != 503 {
		t.Fatalf("closed gate: got %d, want 503", r.status)
	}
	r.message(t)
}

func TestRequestID(t *testing.T) {
	s := newStack(t, stackConfig{})
	r := s.result(keyA, unknownID)
	id := r.header.Get("X-Request-Id")
	if len(id) != 16 {
		t.Fatalf("X-Request-Id: got %q, want 16 hex digits", id)
	}
	if !strings.Contains(s.logs.String(), "request_id="+id) {
		t.Errorf("log lacks request_id=%s", id)
	}
}

// TestWrongMethod: any method but POST on an operation's path is 405 with
// Allow: POST, before the content-type and body checks (a bare PUT has
// neither); only a missing key (401) comes first. With and without the spec
// validator alike.
func TestWrongMethod(t *testing.T) {
	for _, bare := range []bool{false, true} {
		s := newStack(t, stackConfig{keys: []string{keyA}, bare: bare})
		tests := []struct {
			name, method, path, key, ct string
			body                        []byte
			want                        int
		}{
			{"PUT create, no body", http.MethodPut, "/async/speech/create", keyA, "", nil, 405},
			{"PUT create, text body", http.MethodPut, "/async/speech/create", keyA, "text/plain", []byte("hi"), 405},
			{"PATCH result, JSON body", http.MethodPatch, "/async/speech/result", keyA, "application/json", []byte(`{"id":"` + unknownID + `"}`), 405},
			{"GET result", http.MethodGet, "/async/speech/result", keyA, "", nil, 405},
			{"DELETE create", http.MethodDelete, "/async/speech/create", keyA, "", nil, 405},
			{"PUT create, oversized body", http.MethodPut, "/async/speech/create", keyA, "application/json", bytes.Repeat([]byte("x"), 2<<20), 405},
			{"PUT create, no key", http.MethodPut, "/async/speech/create", "", "", nil, 401},
		}
		for _, tc := range tests {
			t.Run(fmt.Sprintf("bare=%v/%s", bare, tc.name), func(t *testing.T) {
				s.t = t
				r := s.do(tc.method, tc.path, tc.key, tc.ct, tc.body)
				if r.status != tc.want {
					t.Fatalf("status: got %d, want %d (body %.200s)", r.status, tc.want, r.body)
				}
				msg := r.message(t)
				if tc.want != 405 {
					return
				}
				if got := r.header.Get("Allow"); got != "POST" {
					t.Errorf("Allow: got %q, want POST", got)
				}
				if !strings.Contains(msg, "use POST") {
					t.Errorf("message: got %q, want it to say use POST", msg)
				}
			})
		}
	}
}

func TestUnknownRoute(t *testing.T) {
	s := newStack(t, stackConfig{})
	r := s.do(http.MethodGet, "/async/speech/result", keyA, "", nil)
	if r.status != 405 {
		t.Fatalf("GET result: got %d, want 405", r.status)
	}
	r.message(t)
	r = s.do(http.MethodPost, "/v1/audio/speech", keyA, "application/json", []byte(`{}`))
	if r.status != 404 {
		t.Fatalf("unknown path: got %d, want 404", r.status)
	}
	r.message(t)
}

func TestValidTaskID(t *testing.T) {
	tests := []struct {
		id   string
		want bool
	}{
		{unknownID, true},
		// The server lowercases ids first (an uppercase id is served: see the
		// lifecycle test), so this check sees lowercase only.
		{strings.ToUpper(unknownID), false},
		{"6ba7b810-9dad-11d1-80b4-00c04fd430c8", false}, // version 1
		{"3f1c2a9e-8b7d-4c6e-7f10-2a3b4c5d6e7f", false}, // variant 7
		{"3f1c2a9e8b7d-4c6e-9f10-2a3b4c5d6e7f0", false},
		{"3f1c2a9e-8b7d-4c6e-9f10-2a3b4c5d6e7g", false},
		{"", false},
	}
	for _, tc := range tests {
		if got := validTaskID(tc.id); got != tc.want {
			t.Errorf("validTaskID(%q): got %v, want %v", tc.id, got, tc.want)
		}
	}
}

func TestNewHandlerNeedsLinks(t *testing.T) {
	if _, err := NewHandler(New(memory.New(), Options{}), HandlerOptions{}); err == nil {
		t.Error("NewHandler without Links: got nil error")
	}
}

// A Server used without NewHandler and without Links answers a result call
// with an internal error instead of panicking.
func TestResultWithoutLinks(t *testing.T) {
	st := memory.New()
	srv := New(st, Options{})
	ctx := auth.WithOwner(context.Background(), "owner-a")
	created, err := srv.AsyncSpeechCreate(ctx, generated.AsyncSpeechCreateRequestObject{Body: &generated.AsyncSpeechCreateJSONRequestBody{Model: generated.AsyncSpeechCreateJSONBodyModelChatterbox, Input: "hello"}})
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	id := created.(generated.AsyncSpeechCreate200JSONResponse).Id
	_, err = srv.AsyncSpeechResult(ctx, generated.AsyncSpeechResultRequestObject{Body: &generated.AsyncSpeechResultJSONRequestBody{Id: id}})
	var e *Error
	if !errors.As(err, &e) || e.Code.Status() != http.StatusInternalServerError {
		t.Fatalf("result without Links: got %v, want an *Error with status 500", err)
	}
}

// TestSkipValidation: HandlerOptions.SkipValidation takes the spec validator
// out, and only it: a body property the spec forbids (which the server's own
// decoding ignores) is refused with it and accepted without it, while auth
// and the method check still run.
func TestSkipValidation(t *testing.T) {
	body := `{"model":"Chatterbox","input":"hi","speed":2}`
	for _, skip := range []bool{false, true} {
		t.Run(fmt.Sprintf("SkipValidation=%v", skip), func(t *testing.T) {
			srv := New(memory.New(), Options{Links: testLinks{}, Logger: slog.New(slog.DiscardHandler)})
			h, err := NewHandler(srv, HandlerOptions{Auth: auth.New([]string{keyA}), SkipValidation: skip, Logger: slog.New(slog.DiscardHandler)})
			if err != nil {
				t.Fatalf("NewHandler: %v", err)
			}
			send := func(method, key string) int {
				req := httptest.NewRequest(method, "/async/speech/create", strings.NewReader(body))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("Authorization", key)
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, req)
				return rec.Code
			}
			want := 400
			if skip {
				want = 200
			}
			if got := send(http.MethodPost, keyA); got != want {
				t.Errorf("create with an undocumented property: got %d, want %d", got, want)
			}
			if got := send(http.MethodPost, "wrong"); got != 401 {
				t.Errorf("create with a wrong key: got %d, want 401", got)
			}
			if got := send(http.MethodPut, keyA); got != 405 {
				t.Errorf("PUT create: got %d, want 405", got)
			}
		})
	}
}

// TestContentEncodingRefused: nothing decompresses a body, so a compressed
// one is refused with 415 rather than read as the JSON it is not.
func TestContentEncodingRefused(t *testing.T) {
	s := newStack(t, stackConfig{})
	for _, tc := range []struct {
		encoding string
		want     int
	}{{"gzip", http.StatusUnsupportedMediaType}, {"br", http.StatusUnsupportedMediaType}, {"identity", http.StatusOK}} {
		t.Run(tc.encoding, func(t *testing.T) {
			req, err := http.NewRequest(http.MethodPost, s.url+"/async/speech/create", strings.NewReader(`{"model":"Chatterbox","input":"hello"}`))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Content-Encoding", tc.encoding)
			req.Header.Set("Authorization", keyA)
			resp, err := s.hc.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tc.want {
				t.Errorf("Content-Encoding %s: got %d %s, want %d", tc.encoding, resp.StatusCode, b, tc.want)
			}
		})
	}
}
