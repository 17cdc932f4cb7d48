package validate

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	asyncspeech "github.com/distributeai/asyncspeech"
)

// TestBodyLimits: each operation's limit admits its longest valid body in
// the worst escaping (every character a \uXXXX\uXXXX pair, every optional
// field present, every number as long as a float64 gets) and stays far
// below the global 1 MiB guard.
func TestBodyLimits(t *testing.T) {
	limits, err := BodyLimits(nil)
	if err != nil {
		t.Fatal(err)
	}
	num := "0.10000000000000000555" // 22 bytes: longer than any float64 needs
	longest := map[string]string{
		"POST /async/speech/create": `{"model":"Chatterbox","input":"` + strings.Repeat(`\ud83d\ude00`, 4096) +
			`","voice":"` + strings.Repeat(`\ud83d\ude00`, UnboundedStringChars) + `","stream":false,"temperature":` + num +
			`,"exaggeration":` + num + `,"cfg_weight":` + num + `}`,
		"POST /async/speech/result": `{"id":"` + strings.Repeat(`\u0030`, UnboundedStringChars) + `"}`,
	}
	if len(limits) != len(longest) {
		t.Errorf("got limits for %d operations, want %d: %v", len(limits), len(longest), limits)
	}
	for op, body := range longest {
		t.Run(op, func(t *testing.T) {
			if !json.Valid([]byte(body)) {
				t.Fatalf("test body is not JSON")
			}
			limit, ok := limits[op]
			switch {
			case !ok:
				t.Fatalf("no limit for %s", op)
			case int64(len(body)) > limit:
				t.Errorf("longest valid body is %d bytes, over the %d-byte limit", len(body), limit)
			case limit > 64<<10:
				t.Errorf("limit %d bytes, want at most 64 KiB", limit)
			}
			t.Logf("%s: limit %d bytes, longest valid body %d bytes", op, limit, len(body))
		})
	}
}

// TestShape: structure the schema can never accept is refused with a
// message naming the field; anything else passes on to kin-openapi.
func TestShape(t *testing.T) {
	doc, err := asyncspeech.Spec()
	if err != nil {
		t.Fatal(err)
	}
	create := bodySchema(doc.Paths.Find("/async/speech/create").Post)
	tests := []struct {
		name, body, want string // want "" passes
	}{
		{"minimal", `{"model":"Chatterbox","input":"hi"}`, ""},
		{"all fields, spaced", ` { "model" : "Chatterbox" , "input" : "h\"i" , "voice" : "nora" , "stream" : true , "temperature" : 0.1 } `, ""},
		{"value rules are kin-openapi's", `{"model":"Bark","input":"","temperature":7}`, ""},
		{"escaped known key", `{"mod\u0065l":"Chatterbox","input":"hi"}`, ""},
		{"unknown key", `{"model":"Chatterbox","input":"hi","speed":2}`, `request body: property "speed" is unsupported`},
		{"escaped unknown key", `{"\u0078":1}`, `request body: property "x" is unsupported`},
		{"object for a string", `{"input":{"a":1}}`, "input: value must be a string"},
		{"array for a number", `{"temperature":[1]}`, "temperature: value must be a number"},
		{"array for anyOf", `{"voice":["leo"]}`, "voice: value matches none of the allowed forms"},
		{"null for a number", `{"temperature":null}`, "temperature: must not be null"},
		{"null body", `null`, "request body: must be a JSON object"},
		{"array body", `[{"model":"Chatterbox"}]`, "request body: value must be an object"},
		{"duplicate key", `{"input":"hi","input":"ho"}`, "input: property appears more than once"},
		{"deep nesting", strings.Repeat("[", 40) + strings.Repeat("]", 40), "request body: nested deeper than 32 levels"},
		{"brackets inside strings do not nest", `{"input":"` + strings.Repeat("[", 100) + `"}`, ""},
		{"not JSON", `{"input":`, "request body: not valid JSON"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := Shape(create, []byte(tc.body))
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("got %v, want it to pass", err)
			case tc.want != "" && (err == nil || err.Error() != tc.want):
				t.Errorf("got %v, want %q", err, tc.want)
			}
		})
	}
}

// TestValidationSlots: with every slot taken, a request waits MaxWait and
// is answered 503 with Retry-After, and the handler never runs.
func TestValidationSlots(t *testing.T) {
	v, err := New(context.Background(), Options{MaxConcurrent: 1, MaxWait: 20 * time.Millisecond, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	ran := false
	h := v.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { ran = true }))
	v.slots <- struct{}{} // a request being validated
	req := httptest.NewRequest(http.MethodPost, "/async/speech/result", strings.NewReader(`{"id":"0b6f1f4e-8c1d-4e7a-9f3b-2a5c6d7e8f90"}`))
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Retry-After") == "" || ran {
		t.Errorf("got %d Retry-After %q (handler ran: %v), want 503 with Retry-After and no handler", rec.Code, rec.Header().Get("Retry-After"), ran)
	}
	<-v.slots
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, req.Clone(context.Background()))
	if !ran {
		t.Errorf("with a free slot the handler did not run (got %d %s)", rec.Code, rec.Body)
	}
}
