package validate

import (
	"context"
	"net/http"
	"strings"
	"testing"
)

// A server on a newer contract sends fields and statuses the embedded
// document does not know; the violation must name them, since that is what
// a reader needs to tell drift from a bug. The names are ones no plausible
// next contract has (the regeneration rehearsal adds duration and
// CANCELLED).
func TestResponseErrorsNameTheUnknown(t *testing.T) {
	jsonHdr := http.Header{"Content-Type": {"application/json"}}
	tests := []struct {
		name, body string
		want       []string // substrings of one error
		notWant    string
	}{
		{"unknown field", `{"id":"x","status":"QUEUED","created":1,"model":"Chatterbox","results":[],"debug_trace":"w7"}`,
			[]string{`"debug_trace"`, "unsupported"}, ""},
		{"unknown status", `{"id":"x","status":"NOT_A_STATUS","created":1,"model":"Chatterbox","results":[]}`,
			[]string{"/status", `(got "NOT_A_STATUS")`}, ""},
		{"a long value is not echoed", `{"id":"x","status":"` + strings.Repeat("X", 100) + `","created":1,"model":"Chatterbox","results":[]}`,
			[]string{"/status", "not one of the allowed values"}, "XXXX"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v, _ := newValidator(t, Options{})
			errs := v.CheckResponse(context.Background(), ReceivedResponse{Method: http.MethodPost, Path: "/async/speech/result", Status: 200, Header: jsonHdr, Body: []byte(tc.body)})
			if len(errs) != 1 {
				t.Fatalf("got %d errors %v, want 1", len(errs), errs)
			}
			msg := errs[0].Error()
			for _, w := range tc.want {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q does not say %q", msg, w)
				}
			}
			if tc.notWant != "" && strings.Contains(msg, tc.notWant) {
				t.Errorf("error %q holds %q", msg, tc.notWant)
			}
		})
	}
}
