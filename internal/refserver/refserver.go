// Package refserver composes the reference server in-process for this
// module's own tests: the HTTP API (api, with strict response validation),
// a worker pool, an engine and the signed result files, on a loopback
// httptest server. Tests pass the store and engine, so they can wrap either
// to hold or script the lifecycle. (api/speechtest is the public,
// batteries-included variant for users' tests.)
package refserver

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/distributeai/asyncspeech/api"
	"github.com/distributeai/asyncspeech/api/engine"
	"github.com/distributeai/asyncspeech/api/results"
	"github.com/distributeai/asyncspeech/api/store"
	"github.com/distributeai/asyncspeech/api/worker"
)

// Server is a running reference server.
type Server struct {
	// URL is the server's base URL (http://127.0.0.1:PORT).
	URL string
	// Pool is the worker pool; it runs only after StartWorkers.
	Pool *worker.Pool

	start func()
}

// StartWorkers starts the worker pool (once). Until then created tasks stay
// CREATED, which lets a test observe them before any worker runs.
func (s *Server) StartWorkers() { s.start() }

// Start serves the reference stack on st and eng until the test ends. The
// pool uses opts with its Logger replaced by a discarding one; the server
// stamps tasks with opts.Now.
func Start(t testing.TB, st store.Store, eng engine.Engine, opts worker.Options) *Server {
	t.Helper()
	quiet := slog.New(slog.DiscardHandler)
	opts.Logger = quiet
	mux := http.NewServeMux()
	srv := httptest.NewUnstartedServer(mux)
	signer, err := results.NewSigner([]byte("refserver-secret-0123456789"), "http://"+srv.Listener.Addr().String(), time.Hour)
	if err != nil {
		t.Fatalf("results.NewSigner: %v", err)
	}
	pool := worker.New(st, eng, opts)
	h, err := api.NewHandler(api.New(st, api.Options{Links: signer, Notify: pool.Notify, Now: opts.Now, Logger: quiet}),
		api.HandlerOptions{Logger: quiet, StrictResponses: true})
	if err != nil {
		t.Fatalf("api.NewHandler: %v", err)
	}
	mux.Handle("/results/", results.Handler(st, signer, quiet))
	mux.Handle("/", h)
	srv.Start()

	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	var once sync.Once
	s := &Server{URL: srv.URL, Pool: pool}
	s.start = func() {
		once.Do(func() {
			wg.Go(func() {
				if err := pool.Run(ctx); err != nil {
					t.Errorf("worker pool: %v", err)
				}
			})
		})
	}
	t.Cleanup(func() {
		cancel()
		wg.Wait()
		srv.Close()
	})
	return s
}
