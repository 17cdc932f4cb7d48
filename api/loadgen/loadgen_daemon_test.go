package loadgen_test

// The result call against the real reference server (api/daemon: the
// speechd wiring, SQLite or memory store, tone engine, default middleware,
// info-level request logging), over loopback HTTP, with the closed-loop
// generator in the same process. Its CPU profile is the profile of the
// result path as deployed (the client's share shows under net/http.(*Transport)
// and loadgen frames and can be focused away):
//
//	go test -run '^$' -bench 'DaemonResult/store=sqlite/log=file' -benchtime 20000x \
//	    -cpuprofile cpu.out -o loadgen.test ./api/loadgen
//	go tool pprof -top -focus 'net/http.\(\*conn\).serve' loadgen.test cpu.out

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/distributeai/asyncspeech/api/daemon"
	"github.com/distributeai/asyncspeech/api/loadgen"
	"github.com/distributeai/asyncspeech/api/server"
	"github.com/distributeai/asyncspeech/api/server/auth"
	"github.com/distributeai/asyncspeech/api/server/results"
	"github.com/distributeai/asyncspeech/api/store/sqlite"
)

func BenchmarkDaemonResult(b *testing.B) {
	cases := []struct {
		store string
		// toFile writes the request log to a file, as speechd writes it to
		// stderr: one write system call per request, under the handler's lock.
		toFile bool
	}{
		{"memory", false},
		{"sqlite", false},
		{"sqlite", true},
	}
	for _, c := range cases {
		st := c.store
		logName := "discard"
		if c.toFile {
			logName = "file"
		}
		b.Run("store="+st+"/log="+logName, func(b *testing.B) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			cfg := daemon.Default()
			cfg.Addr = "127.0.0.1:0"
			cfg.Data = b.TempDir()
			cfg.Store = st
			cfg.Engine = "tone"
			cfg.Keys = []string{benchKey}
			// speechd logs one text line per request at info.
			var logOut io.Writer = io.Discard
			if c.toFile {
				f, err := os.Create(filepath.Join(b.TempDir(), "speechd.log"))
				if err != nil {
					b.Fatalf("log file: %v", err)
				}
				defer f.Close()
				logOut = f
			}
			logger := slog.New(slog.NewTextHandler(logOut, &slog.HandlerOptions{Level: slog.LevelInfo}))
			d, err := daemon.New(ctx, cfg, logger)
			if err != nil {
				b.Fatalf("daemon.New: %v", err)
			}
			done := make(chan error, 1)
			go func() { done <- d.Run(ctx) }()
			defer func() {
				cancel()
				if err := <-done; err != nil {
					b.Errorf("daemon.Run: %v", err)
				}
			}()

			const conc = 64
			client := loadgen.NewClient(conc, 10*time.Second)
			defer client.CloseIdleConnections()
			tg := loadgen.Target{BaseURL: d.URL(), APIKey: benchKey, Client: client}
			op, p, err := loadgen.Result(ctx, tg, "", 10*time.Second)
			if err != nil {
				b.Fatalf("result set-up: %v", err)
			}
			if p.Status != "COMPLETED" {
				b.Fatalf("set-up task is %s, want COMPLETED", p.Status)
			}
			b.ResetTimer()
			rep, err := loadgen.Run(ctx, loadgen.Config{Concurrency: conc, Duration: time.Minute, Requests: b.N}, op)
			b.StopTimer()
			if err != nil {
				b.Fatalf("run: %v", err)
			}
			if rep.Failed() > 0 {
				b.Fatalf("%d of %d result calls failed: %v %v", rep.Failed(), rep.Requests, rep.Errors, rep.Statuses)
			}
			b.ReportMetric(rep.OKPerSec, "ok/s")
			b.ReportMetric(float64(rep.P99)/float64(time.Millisecond), "p99-ms")
		})
	}
}

// BenchmarkHandlerResult serves server.NewHandler over loopback HTTP on a
// SQLite store, with and without the spec validator, in the same process
// as the generator: what validation costs on the wire, until speechd has a
// flag to turn it off (bench/compare.sh measures that row then).
//
//	go test -run '^$' -bench 'HandlerResult' -benchtime 30000x -count 3 ./api/loadgen
func BenchmarkHandlerResult(b *testing.B) {
	for _, validated := range []bool{false, true} {
		name := "validate=off"
		if validated {
			name = "validate=on"
		}
		b.Run(name, func(b *testing.B) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			st, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "tasks.db"))
			if err != nil {
				b.Fatalf("sqlite.Open: %v", err)
			}
			defer st.Close()
			completedTask(b, st)
			signer, err := results.NewSigner([]byte("0123456789abcdef0123456789abcdef"), "http://127.0.0.1:8080", 24*time.Hour)
			if err != nil {
				b.Fatalf("signer: %v", err)
			}
			discard := slog.New(slog.DiscardHandler)
			h, err := server.NewHandler(server.New(st, server.Options{Links: signer, Logger: discard}),
				server.HandlerOptions{Logger: discard, Auth: auth.New([]string{benchKey}), SkipValidation: !validated})
			if err != nil {
				b.Fatalf("server.NewHandler: %v", err)
			}
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				b.Fatalf("listen: %v", err)
			}
			srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
			go srv.Serve(ln)
			defer srv.Close()

			const conc = 64
			client := loadgen.NewClient(conc, 10*time.Second)
			defer client.CloseIdleConnections()
			tg := loadgen.Target{BaseURL: "http://" + ln.Addr().String(), APIKey: benchKey, Client: client}
			op, _, err := loadgen.Result(ctx, tg, benchTaskID, 0)
			if err != nil {
				b.Fatalf("result set-up: %v", err)
			}
			b.ResetTimer()
			rep, err := loadgen.Run(ctx, loadgen.Config{Concurrency: conc, Duration: time.Minute, Requests: b.N}, op)
			b.StopTimer()
			if err != nil {
				b.Fatalf("run: %v", err)
			}
			if rep.Failed() > 0 {
				b.Fatalf("%d of %d result calls failed: %v %v", rep.Failed(), rep.Requests, rep.Errors, rep.Statuses)
			}
			b.ReportMetric(rep.OKPerSec, "ok/s")
			b.ReportMetric(float64(rep.P99)/float64(time.Millisecond), "p99-ms")
		})
	}
}
