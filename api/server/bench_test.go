package server

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/distributeai/asyncspeech/api/task"

	"github.com/distributeai/asyncspeech/api/server/auth"
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
	tk := task.Task{ID: id, Owner: auth.OwnerOf(keyA), Model: "Chatterbox", Params: task.Params{Input: "hello", Voice: "leo"}, Status: task.StatusCreated, Created: now}
	if err := st.Create(ctx, tk); err != nil {
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
	handler := func(b *testing.B, validated bool) http.Handler {
		h, err := newHandler(New(st, Options{Links: testLinks{}, Logger: logger}), HandlerOptions{Logger: logger, StrictResponses: true}, validated)
		if err != nil {
			b.Fatal(err)
		}
		return h
	}
	call := func(b *testing.B, h http.Handler) {
		req := httptest.NewRequest(http.MethodPost, "/async/speech/result", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", keyA)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			b.Fatalf("got %d %s, want 200", rec.Code, rec.Body)
		}
	}
	for _, bc := range []struct {
		name      string
		validated bool
	}{{"validated", true}, {"bare", false}} {
		b.Run(bc.name, func(b *testing.B) {
			h := handler(b, bc.validated)
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					call(b, h)
				}
			})
		})
	}
	// interleaved alternates the two stacks call by call, so load from
	// other processes on a shared machine hits both alike, and reports the
	// cost ratio directly.
	b.Run("interleaved", func(b *testing.B) {
		validated, bare := handler(b, true), handler(b, false)
		var tv, tb time.Duration
		for b.Loop() {
			t0 := time.Now()
			call(b, validated)
			t1 := time.Now()
			call(b, bare)
			tv += t1.Sub(t0)
			tb += time.Since(t1)
		}
		b.ReportMetric(float64(tv.Nanoseconds())/float64(b.N), "validated-ns/call")
		b.ReportMetric(float64(tb.Nanoseconds())/float64(b.N), "bare-ns/call")
		b.ReportMetric(float64(tv)/float64(tb), "validated/bare")
	})
}
