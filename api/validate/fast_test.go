package validate

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"unicode/utf8"

	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
)

const okResultBody = `{"id":"` + validID + `","status":"COMPLETED","created":1764000000.123,"finished":1764000001.5,"model":"Chatterbox","results":[{"url":"http://x/results/a/0.wav?exp=1&sig=ab"}]}`

func fastRoutes(t *testing.T) (*Validator, *routers.Route, *routers.Route) {
	t.Helper()
	v, _ := newValidator(t, Options{})
	create, result := v.routes["POST /async/speech/create"], v.routes["POST /async/speech/result"]
	if create == nil || result == nil {
		t.Fatal("routes of the two operations not indexed")
	}
	return v, create, result
}

// TestFastPathCovers shows the fast path is taken for the common bodies (so
// the benchmark measures it) and declines what it must leave to kin-openapi.
func TestFastPathCovers(t *testing.T) {
	v, create, result := fastRoutes(t)
	fc, fr := v.fast[create], v.fast[result]
	if fc.request == nil || fr.request == nil || fr.responses[200] == nil || fr.responses[404] == nil || fc.responses[200] == nil {
		t.Fatalf("fast path not compiled: create %+v result %+v", fc, fr)
	}
	tests := []struct {
		name string
		n    *node
		body string
		want bool
	}{
		{"result request", fr.request, `{"id":"` + validID + `"}`, true},
		{"result request, spaces", fr.request, " { \"id\" : \"" + validID + "\" } ", true},
		{"result 200", fr.responses[200], okResultBody, true},
		{"result 200, no results", fr.responses[200], `{"id":"x","status":"QUEUED","created":1,"model":"m","results":[]}`, true},
		{"404 message", fr.responses[404], `{"message":"task x not found"}`, true},
		{"create 200", fc.responses[200], `{"id":"` + validID + `"}`, true},
		{"create, all defaults given", fc.request, `{"model":"Chatterbox","input":"héllo","voice":"file-1","stream":false,"temperature":0,"exaggeration":1,"cfg_weight":0.5}`, true},
		{"create, defaults missing", fc.request, `{"model":"Chatterbox","input":"hello"}`, false},
		{"escaped string", fr.request, `{"id":"3f1c2a9e-8b7d-4c6e-9f10-2a3b4c5d6e7\u0066"}`, false},
		{"duplicate key", fr.request, `{"id":"` + validID + `","id":"` + validID + `"}`, false},
		{"v1 id", fr.request, `{"id":"6ba7b810-9dad-11d1-80b4-00c04fd430c8"}`, false},
		{"extra key", fr.request, `{"id":"` + validID + `","x":1}`, false},
		{"null id", fr.request, `{"id":null}`, false},
		{"results null", fr.responses[200], `{"id":"x","status":"QUEUED","created":1,"model":"m","results":null}`, false},
		{"status outside enum", fr.responses[200], `{"id":"x","status":"DONE","created":1,"model":"m","results":[]}`, false},
		{"created huge", fr.responses[200], `{"id":"x","status":"QUEUED","created":1e999,"model":"m","results":[]}`, false},
		{"temperature above 1", fc.request, `{"model":"Chatterbox","input":"hi","stream":true,"temperature":1.5,"exaggeration":1,"cfg_weight":0.5}`, false},
		{"input 1 rune", fc.request, `{"model":"Chatterbox","input":"é","stream":true,"temperature":1,"exaggeration":1,"cfg_weight":0.5}`, false},
		{"trailing data", fr.request, `{"id":"` + validID + `"}{}`, false},
		{"number with plus", fr.responses[200], `{"id":"x","status":"QUEUED","created":+1,"model":"m","results":[]}`, false},
		{"number 01", fr.responses[200], `{"id":"x","status":"QUEUED","created":01,"model":"m","results":[]}`, false},
		{"number 1.", fr.responses[200], `{"id":"x","status":"QUEUED","created":1.,"model":"m","results":[]}`, false},
		{"number 1e+5", fr.responses[200], `{"id":"x","status":"QUEUED","created":-1.25e+5,"model":"m","results":[]}`, true},
		{"raw tab in string", fr.responses[404], "{\"message\":\"a\tb\"}", false},
		{"truex", fr.responses[200], `{"id":"x","status":"QUEUED","created":1,"model":"m","results":[]}x`, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.n.accepts([]byte(tc.body)); got != tc.want {
				t.Errorf("accepts(%s): got %v, want %v", tc.body, got, tc.want)
			}
		})
	}
}

// kinAcceptsRequest runs kin-openapi alone on a request body and reports
// whether it accepts it without rewriting it (no defaults written in).
func kinAcceptsRequest(t *testing.T, v *Validator, rt *routers.Route, body []byte) bool {
	req := httptest.NewRequest(http.MethodPost, rt.Path, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	in := &openapi3filter.RequestValidationInput{Request: req, Route: rt, Options: v.filter}
	if err := openapi3filter.ValidateRequest(context.Background(), in); err != nil {
		return false
	}
	after, err := io.ReadAll(req.Body)
	if err != nil {
		t.Fatal(err)
	}
	return bytes.Equal(after, body)
}

func kinAcceptsResponse(v *Validator, rt *routers.Route, status int, body []byte) bool {
	req := httptest.NewRequest(http.MethodPost, rt.Path, nil)
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: req, Route: rt, Options: v.filter},
		Status:                 status,
		Header:                 http.Header{"Content-Type": {"application/json"}},
		Options:                v.filter,
	}
	in.SetBodyBytes(body)
	return openapi3filter.ValidateResponse(context.Background(), in) == nil
}

// FuzzFastAgreesWithKin: every body the fast path accepts is valid JSON and
// kin-openapi accepts it too, unchanged — for both operations' requests and
// documented responses.
//
//	go test -run '^$' -fuzz FuzzFastAgreesWithKin -fuzztime 20s ./api/validate
func FuzzFastAgreesWithKin(f *testing.F) {
	for _, s := range []string{
		`{"id":"` + validID + `"}`,
		okResultBody,
		`{"message":"m"}`,
		`{"model":"Chatterbox","input":"hi","voice":"leo","stream":true,"temperature":0.8,"exaggeration":0.5,"cfg_weight":0.5}`,
		`{"id":"x","status":"QUEUED","created":-1.5e3,"model":"","results":[{},{"url":""}]}`,
	} {
		f.Add([]byte(s))
	}
	v, err := New(context.Background(), Options{})
	if err != nil {
		f.Fatal(err)
	}
	create, result := v.routes["POST /async/speech/create"], v.routes["POST /async/speech/result"]
	f.Fuzz(func(t *testing.T, body []byte) {
		if !utf8.Valid(body) {
			return // the precheck refuses these before either path runs
		}
		for _, rt := range []*routers.Route{create, result} {
			fr := v.fast[rt]
			if fr.request.accepts(body) && !json.Valid(body) {
				t.Fatalf("%s request %q: fast path accepts invalid JSON", rt.Path, body)
			}
			if fr.request.accepts(body) && !kinAcceptsRequest(t, v, rt, body) {
				t.Fatalf("%s request %q: fast path accepts, kin-openapi does not (or rewrites it)", rt.Path, body)
			}
			for status, n := range fr.responses {
				if n.accepts(body) && (!json.Valid(body) || !kinAcceptsResponse(v, rt, status, body)) {
					t.Fatalf("%s response %d %q: fast path accepts, kin-openapi does not", rt.Path, status, body)
				}
			}
		}
	})
}
