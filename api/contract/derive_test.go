package contract

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/distributeai/asyncspeech/api/task"
)

func TestDeriveNegativesAreInvalidAndNamed(t *testing.T) {
	spec, err := loadSpec(context.Background())
	if err != nil {
		t.Fatalf("loadSpec: %v", err)
	}
	tests := []struct {
		op          string
		wantNames   []string
		unwantNames []string
	}{
		{
			op: "asyncSpeechResult",
			wantNames: []string{"id.required", "id.type", "id.pattern", "id.pattern-near-miss", "body.additionalProperties",
				"body.content-type", "body.empty", "body.malformed-json", "body.type", "body.oversized"},
		},
		{
			op: "asyncSpeechCreate",
			wantNames: []string{"model.required", "input.required", "model.enum", "model.type", "input.minLength", "input.maxLength",
				"temperature.minimum", "temperature.maximum", "exaggeration.minimum", "exaggeration.maximum",
				"cfg_weight.minimum", "cfg_weight.maximum", "voice.type", "stream.type", "body.additionalProperties"},
			// Optional fields are never "required"; voice's anyOf takes any string.
			unwantNames: []string{"voice.required", "stream.required", "voice.enum"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.op, func(t *testing.T) {
			op := spec.ops[tt.op]
			cases, err := deriveNegatives(op)
			if err != nil {
				t.Fatalf("deriveNegatives: %v", err)
			}
			got := map[string]negativeCase{}
			for _, c := range cases {
				if _, dup := got[c.name]; dup {
					t.Errorf("case %s derived twice", c.name)
				}
				got[c.name] = c
			}
			for _, n := range tt.wantNames {
				if _, ok := got[n]; !ok {
					t.Errorf("case %s not derived; got %d cases", n, len(cases))
				}
			}
			for _, n := range tt.unwantNames {
				if _, ok := got[n]; ok {
					t.Errorf("case %s derived, want none", n)
				}
			}
		})
	}
}

func TestNearMissBreaksTheVersionDigit(t *testing.T) {
	pattern := `^[a-fA-F0-9]{8}-[a-fA-F0-9]{4}-4[a-fA-F0-9]{3}-[89abAB][a-fA-F0-9]{3}-[a-fA-F0-9]{12}$`
	valid := "3f2b8c1e-9a4d-4c2b-8e1f-0123456789ab"
	got, ok := nearMiss(valid, pattern)
	if want := "3f2b8c1e-9a4d-0c2b-8e1f-0123456789ab"; !ok || got != want {
		t.Errorf("nearMiss(%q): got %q, %v; want %q, true", valid, got, ok, want)
	}
}

func TestExamplesAreValid(t *testing.T) {
	spec, err := loadSpec(context.Background())
	if err != nil {
		t.Fatalf("loadSpec: %v", err)
	}
	for _, op := range spec.ops {
		for _, full := range []bool{false, true} {
			v, err := example(op.body, full)
			if err != nil {
				t.Fatalf("example(%s, full=%v): %v", op.id, full, err)
			}
			if err := validateRequestValue(op.body, v); err != nil {
				t.Errorf("example(%s, full=%v) = %v is invalid: %v", op.id, full, v, err)
			}
		}
	}
	full, _ := example(spec.ops["asyncSpeechCreate"].body, true)
	for _, field := range []string{"model", "input", "voice", "stream", "temperature", "exaggeration", "cfg_weight"} {
		if _, ok := full.(map[string]any)[field]; !ok {
			t.Errorf("full create example lacks %s: %v", field, full)
		}
	}
}

func TestReachable(t *testing.T) {
	tests := []struct {
		from, to task.Status
		want     bool
	}{
		{task.StatusCreated, task.StatusQueued, true},
		{task.StatusCreated, task.StatusCompleted, true}, // intermediate polls missed
		{task.StatusProcessing, task.StatusQueued, true}, // lease expiry
		{task.StatusPostponed, task.StatusProcessing, true},
		{task.StatusQueued, task.StatusCreated, false},
		{task.StatusCompleted, task.StatusQueued, false},
		{task.StatusError, task.StatusCompleted, false},
		{task.StatusCompleted, task.StatusError, false},
	}
	for _, tt := range tests {
		if got := reachable(tt.from, tt.to); got != tt.want {
			t.Errorf("reachable(%s, %s) = %v, want %v", tt.from, tt.to, got, tt.want)
		}
	}
}

func TestUnixTimeAcceptsSecondsAndMilliseconds(t *testing.T) {
	want := time.Date(2026, 11, 24, 14, 0, 0, 500e6, time.UTC)
	tests := []struct {
		name string
		v    float64
	}{
		{"seconds", float64(want.UnixMilli()) / 1000},
		{"milliseconds", float64(want.UnixMilli())},
	}
	for _, tt := range tests {
		got := unixTime(tt.v)
		if d := got.Sub(want); d > time.Millisecond || d < -time.Millisecond {
			t.Errorf("unixTime(%v) (%s) = %v, want %v", tt.v, tt.name, got.UTC(), want)
		}
	}
}

func TestValidateResponse(t *testing.T) {
	spec, err := loadSpec(context.Background())
	if err != nil {
		t.Fatalf("loadSpec: %v", err)
	}
	result := spec.ops["asyncSpeechResult"]
	create := spec.ops["asyncSpeechCreate"]
	jsonHdr := http.Header{"Content-Type": {"application/json; charset=utf-8"}}
	tests := []struct {
		name     string
		op       *operation
		status   int
		header   http.Header
		body     string
		wantKind []string
	}{
		{"valid result", result, 200, jsonHdr, `{"id":"x","status":"QUEUED","created":1,"model":"Chatterbox","results":[]}`, nil},
		{"results null", result, 200, jsonHdr, `{"id":"x","status":"QUEUED","created":1,"model":"Chatterbox","results":null}`, []string{violationSchema}},
		{"unknown status", result, 200, jsonHdr, `{"id":"x","status":"DONE","created":1,"model":"m","results":[]}`, []string{violationSchema}},
		{"documented 500", result, 500, jsonHdr, `{"message":"boom"}`, nil},
		{"extension 401", result, 401, jsonHdr, `{"message":"no key"}`, nil},
		{"extension 400 on result", result, 400, jsonHdr, `{"message":"bad id"}`, nil},
		{"extension with bad body", create, 429, jsonHdr, `{"error":"slow down"}`, []string{violationSchema, violationSchema}},
		{"undocumented 418", create, 418, jsonHdr, `{"message":"teapot"}`, []string{violationStatus}},
		{"text/plain 404", create, 404, http.Header{"Content-Type": {"text/plain"}}, `not found`, []string{violationContentType}},
		{"create extra field", create, 200, jsonHdr, `{"id":"x","queue":3}`, []string{violationSchema}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest(tt.op.method, tt.op.path, strings.NewReader("{}"))
			var kinds []string
			for _, v := range spec.validateResponse(context.Background(), tt.op, req, tt.status, tt.header, []byte(tt.body)) {
				kinds = append(kinds, v.kind)
				if strings.Contains(v.message, "Schema:") || len(v.message) > 300 {
					t.Errorf("message is a schema dump, want a short line: %q", v.message)
				}
			}
			if strings.Join(kinds, ",") != strings.Join(tt.wantKind, ",") {
				t.Errorf("violations: got %v, want %v", kinds, tt.wantKind)
			}
		})
	}
}
