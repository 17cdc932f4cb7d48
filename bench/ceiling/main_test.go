package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/distributeai/asyncspeech/api/validate"
)

func TestFixedBodiesKeepTheContract(t *testing.T) {
	v, err := validate.New(context.Background(), validate.Options{Strict: true})
	if err != nil {
		t.Fatalf("validate.New: %v", err)
	}
	h := newHandler()
	tests := []struct {
		name, path, body, wantBody string
	}{
		{"result", "/async/speech/result", `{"id":"` + TaskID + `"}`, resultBody},
		{"create", "/async/speech/create", `{"model":"Chatterbox","input":"hello"}`, createBody},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodPost, tt.path, strings.NewReader(tt.body))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Authorization", "k")
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != http.StatusOK {
				t.Fatalf("status %d, want 200", rec.Code)
			}
			if got := rec.Body.String(); got != tt.wantBody {
				t.Errorf("body = %s, want %s", got, tt.wantBody)
			}
			vreq := httptest.NewRequest(http.MethodPost, tt.path, strings.NewReader(tt.body))
			vreq.Header.Set("Content-Type", "application/json")
			vreq.Header.Set("Authorization", "k")
			if err := v.Response(context.Background(), vreq, rec.Code, rec.Header(), rec.Body.Bytes()); err != nil {
				t.Errorf("fixed %s body violates openapi.json: %v", tt.name, err)
			}
		})
	}
}

func TestUnknownRouteIs404(t *testing.T) {
	rec := httptest.NewRecorder()
	newHandler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/async/speech/result", nil))
	if rec.Code == http.StatusOK {
		t.Errorf("GET result answered 200, want a refusal")
	}
}

func TestRunRefusesNonLoopbackAndServes(t *testing.T) {
	var stderr bytes.Buffer
	if code := run(context.Background(), []string{"--addr", "0.0.0.0:0"}, io.Discard, &stderr); code != 2 {
		t.Errorf("exit %d for 0.0.0.0, want 2", code)
	}
	if !strings.Contains(stderr.String(), "loopback") {
		t.Errorf("stderr %q does not explain the refusal", stderr.String())
	}

	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan int, 1)
	go func() { done <- run(ctx, []string{"--addr", "127.0.0.1:0"}, pw, io.Discard); pw.Close() }()
	line := make([]byte, 128)
	n, err := pr.Read(line)
	if err != nil {
		t.Fatalf("read banner: %v", err)
	}
	go io.Copy(io.Discard, pr)
	banner := strings.TrimSpace(string(line[:n]))
	_, url, ok := strings.Cut(banner, "listening on ")
	if !ok {
		t.Fatalf("banner %q lacks 'listening on'", banner)
	}
	resp, err := http.Post(url+"/async/speech/result", "application/json", strings.NewReader(`{"id":"`+TaskID+`"}`))
	if err != nil {
		t.Fatalf("POST result: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(body) != resultBody {
		t.Errorf("got %d %s, want 200 and the fixed body", resp.StatusCode, body)
	}
	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Errorf("exit %d after shutdown, want 0", code)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("server did not shut down")
	}
}
