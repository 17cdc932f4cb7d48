package apierr

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
)

func TestCodeStatus(t *testing.T) {
	tests := []struct {
		code Code
		want int
	}{
		{CodeBadRequest, http.StatusBadRequest},
		{CodeUnauthorized, http.StatusUnauthorized},
		{CodeForbidden, http.StatusForbidden},
		{CodeNotFound, http.StatusNotFound},
		{CodeMethodNotAllowed, http.StatusMethodNotAllowed},
		{CodeTooLarge, http.StatusRequestEntityTooLarge},
		{CodeUnsupportedMedia, http.StatusUnsupportedMediaType},
		{CodeRateLimited, http.StatusTooManyRequests},
		{CodeInternal, http.StatusInternalServerError},
		{CodeBadGateway, http.StatusBadGateway},
		{CodeUnavailable, http.StatusServiceUnavailable},
		{Code("no_such_code"), http.StatusInternalServerError},
	}
	for _, tt := range tests {
		t.Run(string(tt.code), func(t *testing.T) {
			if got := tt.code.Status(); got != tt.want {
				t.Errorf("Code(%q).Status() = %d, want %d", tt.code, got, tt.want)
			}
		})
	}
}

func TestWrite(t *testing.T) {
	tests := []struct {
		name string
		code Code
		msg  string
	}{
		{"plain", CodeForbidden, "link expired"},
		{"needs escaping", CodeBadRequest, "input: \"<b>\" \n ü"},
		{"empty", CodeUnavailable, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			Write(rec, tt.code, tt.msg)
			if rec.Code != tt.code.Status() {
				t.Errorf("status: got %d, want %d", rec.Code, tt.code.Status())
			}
			if got := rec.Header().Get("Content-Type"); got != "application/json" {
				t.Errorf("Content-Type: got %q, want application/json", got)
			}
			if got, want := rec.Header().Get("Content-Length"), strconv.Itoa(rec.Body.Len()); got != want {
				t.Errorf("Content-Length: got %s, want %s (the body's length)", got, want)
			}
			var body map[string]any
			if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
				t.Fatalf("body %q is not JSON: %v", rec.Body, err)
			}
			if len(body) != 1 || body["message"] != tt.msg {
				t.Errorf("body: got %v, want exactly {message: %q}", body, tt.msg)
			}
		})
	}
}

// TestRetryAfter: every 503 carries Retry-After, the writer's own when it
// set one; other statuses get none added.
func TestRetryAfter(t *testing.T) {
	tests := []struct {
		name   string
		status int
		preset string
		want   string
	}{
		{"503 without one", http.StatusServiceUnavailable, "", RetryAfterUnavailable},
		{"503 keeps the writer's", http.StatusServiceUnavailable, "7", "7"},
		{"429 untouched", http.StatusTooManyRequests, "", ""},
		{"500 untouched", http.StatusInternalServerError, "", ""},
		{"400 untouched", http.StatusBadRequest, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			if tt.preset != "" {
				rec.Header().Set("Retry-After", tt.preset)
			}
			WriteMessage(rec, tt.status, "x")
			if got := rec.Header().Get("Retry-After"); got != tt.want {
				t.Errorf("Retry-After: got %q, want %q", got, tt.want)
			}
		})
	}
}
