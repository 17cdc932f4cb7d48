package api

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/distributeai/asyncspeech/api/auth"
	"github.com/distributeai/asyncspeech/api/store"
	"github.com/distributeai/asyncspeech/api/store/memory"
)

// BenchmarkResult measures the result call (a COMPLETED task with one result
// link) through the full middleware stack, with and without the spec
// validator; the ratio of the two is what runtime validation costs.
//
//	go test -run '^$' -bench BenchmarkResult -benchtime 2s -count 5 ./api/
func BenchmarkResult(b *testing.B) {
	ctx := context.Background()
	st := memory.New()
	now := time.Now()
	id := fuzzKnownID
	task := store.Task{ID: id, Owner: auth.OwnerOf(keyA), Model: "Chatterbox", Params: store.Params{Input: "hello", Voice: "leo"}, Status: store.StatusCreated, Created: now}
	if err := st.Create(ctx, task); err != nil {
		b.Fatal(err)
	}
	if _, err := st.Admit(ctx, store.AdmitOptions{Now: now, Limit: 1}); err != nil {
		b.Fatal(err)
	}
	if _, err := st.Claim(ctx, store.ClaimOptions{Worker: "w", Now: now, LeaseUntil: now.Add(time.Hour)}); err != nil {
		b.Fatal(err)
	}
	if err := st.Start(ctx, id, "w", now.Add(time.Hour)); err != nil {
		b.Fatal(err)
	}
	if err := st.Complete(ctx, id, "w", now, []store.Audio{{ContentType: "audio/wav", Data: []byte("RIFF")}}); err != nil {
		b.Fatal(err)
	}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	body := []byte(`{"id":"` + id + `"}`)
	for _, bc := range []struct {
		name      string
		validated bool
	}{{"validated", true}, {"bare", false}} {
		b.Run(bc.name, func(b *testing.B) {
			h, err := newHandler(New(st, Options{Links: testLinks{}, Logger: logger}), HandlerOptions{Logger: logger, StrictResponses: true}, bc.validated)
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					req := httptest.NewRequest(http.MethodPost, "/async/speech/result", bytes.NewReader(body))
					req.Header.Set("Content-Type", "application/json")
					req.Header.Set("Authorization", keyA)
					rec := httptest.NewRecorder()
					h.ServeHTTP(rec, req)
					if rec.Code != http.StatusOK {
						b.Fatalf("got %d %s, want 200", rec.Code, rec.Body)
					}
				}
			})
		})
	}
}
