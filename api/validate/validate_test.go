package validate

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	asyncspeech "github.com/distributeai/asyncspeech"
	"github.com/distributeai/asyncspeech/internal/logtest"
)

const validID = "3f1c2a9e-8b7d-4c6e-9f10-2a3b4c5d6e7f"

func newValidator(t *testing.T, opts Options) (*Validator, *logtest.Buffer) {
	t.Helper()
	logs := &logtest.Buffer{}
	opts.Logger = slog.New(slog.NewTextHandler(logs, nil))
	v, err := New(context.Background(), opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return v, logs
}

func post(t *testing.T, h http.Handler, path, contentType, body string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(body))
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func message(t *testing.T, rec *httptest.ResponseRecorder) string {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &m); err != nil {
		t.Fatalf("body %q is not JSON: %v", rec.Body.String(), err)
	}
	msg, ok := m["message"].(string)
	if !ok || len(m) != 1 {
		t.Fatalf(`body %q, want {"message": string}`, rec.Body.String())
	}
	return msg
}

// okCreate answers like a correct create handler and records the body it got.
func okCreate(got *[]byte) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		if got != nil {
			*got = b
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"id":"`+validID+`"}`)
	})
}

func TestRequestValidation(t *testing.T) {
	v, _ := newValidator(t, Options{Strict: true})
	h := v.Middleware(okCreate(nil))
	long := strings.Repeat("a", 4097)
	tests := []struct {
		name, path, ct, body string
		want                 int
		wantMsg              string // substring of the message
	}{
		{"valid create", "/async/speech/create", "application/json", `{"model":"Chatterbox","input":"hi"}`, 200, ""},
		{"missing body", "/async/speech/create", "application/json", ``, 400, "request body is required"},
		{"empty object", "/async/speech/create", "application/json", `{}`, 400, "property is required"},
		{"extra property", "/async/speech/create", "application/json", `{"model":"Chatterbox","input":"hi","x":1}`, 400, `property "x" is unsupported`},
		{"input wrong type", "/async/speech/create", "application/json", `{"model":"Chatterbox","input":5}`, 400, "input: value must be a string"},
		{"input too short", "/async/speech/create", "application/json", `{"model":"Chatterbox","input":"h"}`, 400, "input: minimum string length is 2"},
		{"input too long", "/async/speech/create", "application/json", `{"model":"Chatterbox","input":"` + long + `"}`, 400, "input: maximum string length is 4096"},
		{"temperature above 1", "/async/speech/create", "application/json", `{"model":"Chatterbox","input":"hi","temperature":1.5}`, 400, "temperature: number must be at most 1"},
		{"cfg_weight below 0", "/async/speech/create", "application/json", `{"model":"Chatterbox","input":"hi","cfg_weight":-0.1}`, 400, "cfg_weight: number must be at least 0"},
		{"unknown model", "/async/speech/create", "application/json", `{"model":"Whisper","input":"hi"}`, 400, "model: value is not one of the allowed values"},
		{"voice wrong type", "/async/speech/create", "application/json", `{"model":"Chatterbox","input":"hi","voice":3}`, 400, "voice:"},
		{"array body", "/async/speech/create", "application/json", `[1]`, 400, "request body: value must be an object"},
		{"trailing data", "/async/speech/create", "application/json", `{"model":"Chatterbox","input":"hi"} {}`, 400, "not valid JSON"},
		{"broken JSON", "/async/speech/create", "application/json", `{"model":`, 400, "not valid JSON"},
		{"invalid UTF-8", "/async/speech/create", "application/json", "{\"model\":\"Chatterbox\",\"input\":\"h\xff\xfe\"}", 400, "not valid UTF-8"},
		{"text content type", "/async/speech/create", "text/plain", `{"model":"Chatterbox","input":"hi"}`, 415, "application/json"},
		{"malformed id", "/async/speech/result", "application/json", `{"id":"abc"}`, 400, "id: must be a UUID version 4"},
		{"non-v4 id", "/async/speech/result", "application/json", `{"id":"6ba7b810-9dad-11d1-80b4-00c04fd430c8"}`, 400, "id: must be a UUID version 4"},
		{"null body", "/async/speech/create", "application/json", `null`, 400, "request body: must be a JSON object"},
		{"null result body", "/async/speech/result", "application/json", `null`, 400, "request body: must be a JSON object"},
		{"null field", "/async/speech/create", "application/json", `{"model":"Chatterbox","input":null}`, 400, "input: must not be null"},
		// kin-openapi would write the defaults over these nulls and accept them.
		{"null field with a default", "/async/speech/create", "application/json", `{"model":"Chatterbox","input":"hi","stream":null}`, 400, "stream: must not be null"},
		{"null number with a default", "/async/speech/create", "application/json", `{"model":"Chatterbox","input":"hi","temperature":null}`, 400, "temperature: must not be null"},
		{"id wrong type", "/async/speech/result", "application/json", `{"id":7}`, 400, "id: value must be a string"},
		{"unknown path", "/async/speech/delete", "application/json", `{}`, 404, "no operation"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec := post(t, h, tc.path, tc.ct, tc.body)
			if rec.Code != tc.want {
				t.Fatalf("status: got %d, want %d (body %s)", rec.Code, tc.want, rec.Body)
			}
			if tc.want == 200 {
				return
			}
			if msg := message(t, rec); !strings.Contains(msg, tc.wantMsg) {
				t.Errorf("message: got %q, want it to contain %q", msg, tc.wantMsg)
			}
			if strings.Contains(rec.Body.String(), "Schema:") {
				t.Errorf("message dumps the schema: %s", rec.Body)
			}
			if strings.Contains(rec.Body.String(), "Value is not") {
				t.Errorf("message keeps kin-openapi's capitalised wording: %s", rec.Body)
			}
		})
	}
}

func TestUUIDPatternMessageOnlyForUUIDv4(t *testing.T) {
	tests := []struct {
		name, field, pattern, want string
	}{
		{"spec's UUIDv4 pattern", "id", "^[a-fA-F0-9]{8}-[a-fA-F0-9]{4}-4[a-fA-F0-9]{3}-[89abAB][a-fA-F0-9]{3}-[a-fA-F0-9]{12}$", "id: must be a UUID version 4"},
		{"UUIDv4 pattern on another field", "parent", "(?i)^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$", "parent: must be a UUID version 4"},
		// Other patterns keep kin-openapi's generic wording, which names the
		// expression.
		{"any-version UUID pattern", "id", "^[0-9a-f-]{36}$", `id: string doesn't match the regular expression "^[0-9a-f-]{36}$"`},
		{"other pattern", "voice", "^[a-z]+$", `voice: string doesn't match the regular expression "^[a-z]+$"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			schema := openapi3.NewObjectSchema().WithProperty(tc.field, openapi3.NewStringSchema().WithPattern(tc.pattern))
			err := schema.VisitJSON(map[string]any{tc.field: "not-a-match!"})
			var se *openapi3.SchemaError
			if !errors.As(err, &se) {
				t.Fatalf("VisitJSON: got %v, want a *openapi3.SchemaError", err)
			}
			if got := schemaMessage(se); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestMethodNotAllowed(t *testing.T) {
	v, _ := newValidator(t, Options{})
	rec := httptest.NewRecorder()
	v.Middleware(okCreate(nil)).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/async/speech/create", nil))
	if rec.Code != http.StatusMethodNotAllowed {
		t.Fatalf("status: got %d, want 405", rec.Code)
	}
	if got := rec.Header().Get("Allow"); got != "POST" {
		t.Errorf("Allow: got %q, want POST", got)
	}
	message(t, rec)
}

func TestDefaultsReachHandler(t *testing.T) {
	v, _ := newValidator(t, Options{Strict: true})
	var got []byte
	rec := post(t, v.Middleware(okCreate(&got)), "/async/speech/create", "application/json", `{"model":"Chatterbox","input":"hi"}`)
	if rec.Code != 200 {
		t.Fatalf("status: got %d, want 200", rec.Code)
	}
	var body map[string]any
	if err := json.Unmarshal(got, &body); err != nil {
		t.Fatalf("handler body %q: %v", got, err)
	}
	for field, want := range map[string]any{"temperature": 0.8, "exaggeration": 0.5, "cfg_weight": 0.5, "stream": false} {
		if body[field] != want {
			t.Errorf("%s: got %v, want default %v", field, body[field], want)
		}
	}
}

// respond returns a handler that sends a fixed response, whatever the request.
func respond(status int, ct, body string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if ct != "" {
			w.Header().Set("Content-Type", ct)
		}
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	})
}

func TestResponseValidation(t *testing.T) {
	okResult := `{"id":"` + validID + `","status":"QUEUED","created":1764000000.123,"model":"Chatterbox","results":[]}`
	tests := []struct {
		name     string
		status   int
		ct, body string
		wantOK   bool
		wantPath string
	}{
		{"valid 200", 200, "application/json", okResult, true, ""},
		{"valid 404", 404, "application/json", `{"message":"task not found"}`, true, ""},
		{"results null", 200, "application/json", strings.Replace(okResult, `[]`, `null`, 1), false, "/results"},
		{"missing results", 200, "application/json", strings.Replace(okResult, `,"results":[]`, ``, 1), false, ""},
		{"unknown status", 200, "application/json", strings.Replace(okResult, `QUEUED`, `DONE`, 1), false, "/status"},
		{"created as string", 200, "application/json", strings.Replace(okResult, `1764000000.123`, `"now"`, 1), false, "/created"},
		{"extra field", 200, "application/json", strings.Replace(okResult, `"results":[]`, `"results":[],"cost":1`, 1), false, ""},
		{"result with extra key", 200, "application/json", strings.Replace(okResult, `[]`, `[{"url":"u","size":3}]`, 1), false, "/results/0"},
		{"404 without message", 404, "application/json", `{"error":"nope"}`, false, ""},
		{"text/plain 500", 500, "text/plain", "boom", false, ""},
		{"undocumented 418", 418, "application/json", `{"message":"teapot"}`, false, ""},
		{"extension 429 with message", 429, "application/json", `{"message":"slow down"}`, true, ""},
		{"extension 429 without message", 429, "application/json", `{"retry":3}`, false, ""},
		{"extension 503 as text", 503, "text/plain", "down", false, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v, logs := newValidator(t, Options{Strict: true, ExtensionStatuses: []int{401, 413, 415, 429, 503}})
			rec := post(t, v.Middleware(respond(tc.status, tc.ct, tc.body)), "/async/speech/result", "application/json", `{"id":"`+validID+`"}`)
			if tc.wantOK {
				if rec.Code != tc.status || rec.Body.String() != tc.body {
					t.Fatalf("got %d %q, want the handler's %d %q through", rec.Code, rec.Body, tc.status, tc.body)
				}
				return
			}
			if rec.Code != http.StatusInternalServerError {
				t.Fatalf("strict mode: got %d %q, want 500", rec.Code, rec.Body)
			}
			if msg := message(t, rec); strings.Contains(msg, tc.body) {
				t.Errorf("500 message leaks the bad response: %q", msg)
			}
			log := logs.String()
			if !strings.Contains(log, "route=\"POST /async/speech/result\"") {
				t.Errorf("log lacks the route: %s", log)
			}
			if tc.wantPath != "" && !strings.Contains(log, "failing_path="+tc.wantPath) {
				t.Errorf("log lacks failing_path=%s: %s", tc.wantPath, log)
			}
		})
	}
}

func TestLenientModePassesViolationsAndLogs(t *testing.T) {
	v, logs := newValidator(t, Options{Strict: false})
	bad := `{"id":"x","status":"QUEUED","created":1,"model":"m","results":null}`
	rec := post(t, v.Middleware(respond(200, "application/json", bad)), "/async/speech/result", "application/json", `{"id":"`+validID+`"}`)
	if rec.Code != 200 || rec.Body.String() != bad {
		t.Fatalf("got %d %q, want the handler's response unchanged", rec.Code, rec.Body)
	}
	if !strings.Contains(logs.String(), "failing_path=/results") {
		t.Errorf("violation not logged: %s", logs)
	}
}

func TestStandaloneResponse(t *testing.T) {
	v, _ := newValidator(t, Options{ExtensionStatuses: []int{401}})
	req := httptest.NewRequest(http.MethodPost, "/async/speech/create", nil)
	h := http.Header{"Content-Type": {"application/json"}}
	if err := v.Response(context.Background(), req, 200, h, []byte(`{"id":"`+validID+`"}`)); err != nil {
		t.Errorf("valid create response: got %v, want nil", err)
	}
	if err := v.Response(context.Background(), req, 401, h, []byte(`{"message":"no key"}`)); err != nil {
		t.Errorf("extension 401: got %v, want nil", err)
	}
	err := v.Response(context.Background(), req, 200, h, []byte(`{"id":5}`))
	re, ok := err.(*ResponseError)
	if !ok {
		t.Fatalf("id as number: got %v (%T), want *ResponseError", err, err)
	}
	if re.Path != "/id" || re.Operation != "asyncSpeechCreate" {
		t.Errorf("got path %q op %q, want /id asyncSpeechCreate", re.Path, re.Operation)
	}
	if err := v.Response(context.Background(), httptest.NewRequest(http.MethodGet, "/nowhere", nil), 200, h, nil); err == nil {
		t.Error("response to an undocumented route: got nil, want an error")
	}
}

// TestWrapsReverseProxy shows the validator in front of a proxied upstream,
// the contract harness's use: a bad upstream answer is caught.
func TestWrapsReverseProxy(t *testing.T) {
	upstream := httptest.NewServer(respond(200, "application/json", `{"id":"`+validID+`","status":"QUEUED","created":1,"model":"m"}`))
	defer upstream.Close()
	u, err := url.Parse(upstream.URL)
	if err != nil {
		t.Fatal(err)
	}
	v, logs := newValidator(t, Options{Strict: true})
	rec := post(t, v.Middleware(httputil.NewSingleHostReverseProxy(u)), "/async/speech/result", "application/json", `{"id":"`+validID+`"}`)
	if rec.Code != 500 {
		t.Fatalf("got %d %q, want 500 for the upstream's missing results", rec.Code, rec.Body)
	}
	if !strings.Contains(logs.String(), "response violates the API contract") {
		t.Errorf("violation not logged: %s", logs)
	}
}

func TestForwardInvalidRequests(t *testing.T) {
	v, logs := newValidator(t, Options{ForwardInvalidRequests: true})
	reached := false
	h := v.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reached = true
		respond(400, "application/json", `{"message":"bad"}`).ServeHTTP(w, r)
	}))
	rec := post(t, h, "/async/speech/create", "application/json", `{}`)
	if !reached || rec.Code != 400 {
		t.Fatalf("got reached=%v status %d, want the invalid request forwarded and its 400 passed back", reached, rec.Code)
	}
	if !strings.Contains(logs.String(), "invalid request") {
		t.Errorf("invalid request not logged: %s", logs)
	}
}

func TestBodyLimitReported(t *testing.T) {
	v, _ := newValidator(t, Options{})
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, 10)
		v.Middleware(okCreate(nil)).ServeHTTP(w, r)
	})
	rec := post(t, h, "/async/speech/create", "application/json", `{"model":"Chatterbox","input":"hello there"}`)
	if rec.Code != http.StatusRequestEntityTooLarge {
		t.Fatalf("got %d, want 413", rec.Code)
	}
	message(t, rec)
}

func TestTemplatedPathRefused(t *testing.T) {
	// A private copy: the validators of the other tests share the embedded
	// document parsed once per process.
	doc, err := asyncspeech.ParseSpec(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	item := doc.Paths.Value("/async/speech/result")
	doc.Paths.Set("/tasks/{id}", item)
	if _, err := New(context.Background(), Options{Doc: doc}); err == nil {
		t.Fatal("document with a templated path: got nil error, want a refusal")
	}
}

func TestPassUnknownRoutes(t *testing.T) {
	v, _ := newValidator(t, Options{Strict: true, PassUnknownRoutes: true})
	h := v.Middleware(respond(200, "audio/wav", "RIFF"))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/results/x/0.wav", nil))
	if rec.Code != 200 || rec.Body.String() != "RIFF" {
		t.Fatalf("unknown route: got %d %q, want the handler's 200 RIFF", rec.Code, rec.Body)
	}
	// Documented routes are still validated.
	if rec := post(t, h, "/async/speech/result", "application/json", `{}`); rec.Code != 400 {
		t.Fatalf("documented route with a bad body: got %d, want 400", rec.Code)
	}
}

func TestCheckResponse(t *testing.T) {
	jsonHdr := http.Header{"Content-Type": {"application/json; charset=utf-8"}}
	const result, create = "/async/speech/result", "/async/speech/create"
	tests := []struct {
		name      string
		opts      Options
		path      string
		status    int
		header    http.Header
		body      string
		wantKinds []Kind
		wantPaths []string
	}{
		{name: "valid result", path: result, status: 200, header: jsonHdr, body: `{"id":"x","status":"QUEUED","created":1,"model":"Chatterbox","results":[]}`},
		{name: "two schema violations, both reported", path: result, status: 200, header: jsonHdr,
			body:      `{"id":"x","status":"DONE","created":"now","model":"m","results":[]}`,
			wantKinds: []Kind{KindSchema, KindSchema}, wantPaths: []string{"/created", "/status"}},
		{name: "extension status with a {message} body", opts: Options{ExtensionStatuses: ExtensionStatuses()}, path: result, status: 401, header: jsonHdr, body: `{"message":"no key"}`},
		{name: "extension status with a wrong body", opts: Options{ExtensionStatuses: ExtensionStatuses()}, path: create, status: 429, header: jsonHdr,
			body: `{"error":"slow down"}`, wantKinds: []Kind{KindSchema, KindSchema}},
		{name: "extension status not configured", path: create, status: 429, header: jsonHdr, body: `{"message":"slow"}`, wantKinds: []Kind{KindStatus}},
		{name: "undocumented status ignored on request", opts: Options{IgnoreUndocumentedStatuses: true}, path: create, status: 429, header: jsonHdr, body: `not json`},
		{name: "undocumented status, wrong type: both reported", path: create, status: 418, header: http.Header{"Content-Type": {"text/plain"}}, body: `teapot`,
			wantKinds: []Kind{KindStatus, KindContentType}},
		{name: "documented status, text/plain", path: create, status: 404, header: http.Header{"Content-Type": {"text/plain"}}, body: `not found`, wantKinds: []Kind{KindContentType}},
		{name: "no such operation", path: "/v1/speech", status: 200, header: jsonHdr, body: `{}`, wantKinds: []Kind{KindStatus}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, logs := newValidator(t, tt.opts)
			errs := v.CheckResponse(context.Background(), ReceivedResponse{Method: http.MethodPost, Path: tt.path, Status: tt.status, Header: tt.header, Body: []byte(tt.body)})
			var kinds []Kind
			var paths []string
			for _, e := range errs {
				kinds = append(kinds, e.Kind)
				if e.Path != "" {
					paths = append(paths, e.Path)
				}
				if strings.Contains(e.Error(), "Schema:") || len(e.Error()) > 300 {
					t.Errorf("error is a schema dump, want a short line: %q", e.Error())
				}
			}
			if fmt.Sprint(kinds) != fmt.Sprint(tt.wantKinds) {
				t.Errorf("kinds: got %v, want %v (%v)", kinds, tt.wantKinds, errs)
			}
			if tt.wantPaths != nil && fmt.Sprint(paths) != fmt.Sprint(tt.wantPaths) {
				t.Errorf("paths: got %v, want %v", paths, tt.wantPaths)
			}
			if logs.String() != "" {
				t.Errorf("CheckResponse logged %q, want nothing", logs)
			}
			// Response reports the first of the same violations.
			req := httptest.NewRequest(http.MethodPost, tt.path, nil)
			err := v.Response(context.Background(), req, tt.status, tt.header, []byte(tt.body))
			if (err == nil) != (len(errs) == 0) {
				t.Errorf("Response: got %v, want an error iff CheckResponse found %d", err, len(errs))
			}
		})
	}
}

// The validator must leave a shared document alone: other packages read
// the embedded spec parsed once per process.
func TestSharedSpecUntouched(t *testing.T) {
	shared, err := asyncspeech.Spec()
	if err != nil {
		t.Fatal(err)
	}
	servers, security := len(shared.Servers), len(shared.Security)
	if servers == 0 || security == 0 {
		t.Fatalf("embedded spec has %d servers and %d security requirements; this test needs both", servers, security)
	}
	newValidator(t, Options{})
	if len(shared.Servers) != servers || len(shared.Security) != security {
		t.Errorf("after New: servers %d, security %d; want %d and %d as before", len(shared.Servers), len(shared.Security), servers, security)
	}
}

// TestMarkOwn: a response the wrapped handler marks as its own passes
// unvalidated, even in strict mode; unmarked, the same response is a
// violation.
func TestMarkOwn(t *testing.T) {
	for _, mark := range []bool{false, true} {
		t.Run(fmt.Sprintf("marked=%v", mark), func(t *testing.T) {
			v, logs := newValidator(t, Options{Strict: true, ExtensionStatuses: ExtensionStatuses()})
			h := v.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if mark && !MarkOwn(w) {
					t.Errorf("MarkOwn on the middleware's writer: got false, want true")
				}
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusBadGateway)
				_, _ = io.WriteString(w, `{"message":"upstream unreachable"}`)
			}))
			rec := post(t, h, "/async/speech/result", "application/json", `{"id":"`+validID+`"}`)
			want := http.StatusInternalServerError
			if mark {
				want = http.StatusBadGateway
			}
			if rec.Code != want {
				t.Errorf("status: got %d, want %d", rec.Code, want)
			}
			if logged := strings.Contains(logs.String(), "violates the API contract"); logged == mark {
				t.Errorf("violation logged: got %v, want %v", logged, !mark)
			}
		})
	}
	if MarkOwn(httptest.NewRecorder()) {
		t.Errorf("MarkOwn on another writer: got true, want false")
	}
}
