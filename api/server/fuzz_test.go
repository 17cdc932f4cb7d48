package server

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/distributeai/asyncspeech/api/task"

	"github.com/distributeai/asyncspeech/api/server/auth"
	"github.com/distributeai/asyncspeech/api/store"
	"github.com/distributeai/asyncspeech/api/store/memory"
	"github.com/distributeai/asyncspeech/api/validate"
)

// fuzzKnownID is a task that exists for keyA in the fuzz store (seed corpus
// file FuzzResultRequest/existing asks for it).
const fuzzKnownID = "0b6f3c52-5d1e-4a7b-8c9d-1e2f3a4b5c6d"

// fuzzStore checks every task the server creates and then drops it, so a
// long fuzz run does not fill memory; a malformed task is refused, which the
// server answers with a 503 that fails the fuzz check.
type fuzzStore struct{ store.Store }

func (f fuzzStore) Create(ctx context.Context, t task.Task) error {
	return f.CreateWithin(ctx, t, store.CreateLimits{})
}

func (f fuzzStore) CreateWithin(_ context.Context, t task.Task, _ store.CreateLimits) error {
	p := t.Params
	n := utf8.RuneCountInString(p.Input)
	switch {
	case !validTaskID(t.ID), t.Owner != auth.OwnerOf(keyA), t.Status != task.StatusCreated, t.Model != "Chatterbox",
		n < 2 || n > 4096, p.Voice != "leo" && p.Voice != "nora",
		p.Temperature < 0 || p.Temperature > 1, p.Exaggeration < 0 || p.Exaggeration > 1, p.CfgWeight < 0 || p.CfgWeight > 1:
		return fmt.Errorf("fuzz: server created a malformed task %+v", t)
	}
	return nil
}

// fuzzTarget builds the full stack once per fuzz function and returns a
// function that sends one body to path and checks the reply: never a 5xx
// (a panic would be recovered into a 500), a {"message"} body on every 4xx,
// and a reply that the spec (with the documented extensions) accepts.
func fuzzTarget(f *testing.F, path string) func(t *testing.T, body []byte) {
	f.Helper()
	st := memory.New()
	now := time.Now()
	err := st.Create(context.Background(), task.Task{
		ID: fuzzKnownID, Owner: auth.OwnerOf(keyA), Model: "Chatterbox",
		Params: task.Params{Input: "hello", Voice: "leo"}, Status: task.StatusCreated, Created: now,
	})
	if err != nil {
		f.Fatal(err)
	}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	h, err := NewHandler(New(fuzzStore{st}, Options{Links: testLinks{}, Logger: logger}), HandlerOptions{Logger: logger, StrictResponses: true})
	if err != nil {
		f.Fatal(err)
	}
	check, err := validate.New(context.Background(), validate.Options{ExtensionStatuses: ExtensionStatuses()})
	if err != nil {
		f.Fatal(err)
	}
	return func(t *testing.T, body []byte) {
		req := httptest.NewRequest(http.MethodPost, path, bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", keyA)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code >= 500 {
			t.Fatalf("body %q: got %d %s, want no 5xx", body, rec.Code, rec.Body)
		}
		if rec.Code >= 400 {
			var m map[string]any
			if err := json.Unmarshal(rec.Body.Bytes(), &m); err != nil || len(m) != 1 {
				t.Fatalf(`body %q: got %d %q, want {"message"}`, body, rec.Code, rec.Body)
			}
			if _, ok := m["message"].(string); !ok {
				t.Fatalf(`body %q: got %d %q, want {"message": string}`, body, rec.Code, rec.Body)
			}
		}
		vreq := httptest.NewRequest(http.MethodPost, path, nil)
		if err := check.Response(context.Background(), vreq, rec.Code, rec.Header(), rec.Body.Bytes()); err != nil {
			t.Fatalf("body %q: reply %d %s violates the spec: %v", body, rec.Code, rec.Body, err)
		}
	}
}

// FuzzCreateRequest sends arbitrary bodies to the create operation through
// the full stack. Seeds: testdata/fuzz/FuzzCreateRequest.
func FuzzCreateRequest(f *testing.F) {
	f.Add([]byte(`{"model":"Chatterbox","input":"hello"}`))
	f.Add([]byte(`{"model":"Chatterbox","input":"hi","voice":"leo","temperature":0.5}`))
	check := fuzzTarget(f, "/async/speech/create")
	f.Fuzz(check)
}

// FuzzResultRequest sends arbitrary bodies to the result operation through
// the full stack. Seeds: testdata/fuzz/FuzzResultRequest.
func FuzzResultRequest(f *testing.F) {
	f.Add([]byte(`{"id":"` + fuzzKnownID + `"}`))
	f.Add([]byte(`{"id":"` + unknownID + `"}`))
	check := fuzzTarget(f, "/async/speech/result")
	f.Fuzz(check)
}
