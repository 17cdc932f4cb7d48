package main

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/distributeai/asyncspeech/api/validate"
)

// TestCardStack: the baseline answers like a server of the contract (a
// valid result for a valid call, refusals for a wrong key and a bad body),
// so measuring it measures validation, not a shortcut.
func TestCardStack(t *testing.T) {
	const key = "card-key-0123456789"
	h, err := newHandler(context.Background(), key)
	if err != nil {
		t.Fatalf("newHandler: %v", err)
	}
	v, err := validate.New(context.Background(), validate.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatalf("validate.New: %v", err)
	}
	cases := []struct {
		name, key, body string
		want            int
	}{
		{"valid", key, `{"id":"` + TaskID + `"}`, http.StatusOK},
		{"wrong key", "other", `{"id":"` + TaskID + `"}`, http.StatusUnauthorized},
		{"undeclared property", key, `{"id":"` + TaskID + `","x":1}`, http.StatusBadRequest},
		{"not a uuid", key, `{"id":"nope"}`, http.StatusBadRequest},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodPost, "/async/speech/result", strings.NewReader(tc.body))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Authorization", tc.key)
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != tc.want {
				t.Fatalf("status: got %d (%s), want %d", rec.Code, rec.Body, tc.want)
			}
			if tc.want != http.StatusOK {
				return
			}
			if err := v.Response(context.Background(), req, rec.Code, rec.Header(), rec.Body.Bytes()); err != nil {
				t.Errorf("answer violates openapi.json: %v\n%s", err, rec.Body)
			}
			if !strings.Contains(rec.Body.String(), `"status":"COMPLETED"`) {
				t.Errorf("body %s: want a COMPLETED task", rec.Body)
			}
		})
	}
}

// BenchmarkCardStack is the in-process cost of one result call through the
// card stack, beside api/loadgen's BenchmarkResultCall.
func BenchmarkCardStack(b *testing.B) {
	const key = "card-key-0123456789"
	h, err := newHandler(context.Background(), key)
	if err != nil {
		b.Fatalf("newHandler: %v", err)
	}
	body := `{"id":"` + TaskID + `"}`
	b.ReportAllocs()
	for b.Loop() {
		req := httptest.NewRequest(http.MethodPost, "/async/speech/result", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", key)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			b.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
	}
}
