package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"time"

	"github.com/distributeai/asyncspeech/api/har"
	"github.com/distributeai/asyncspeech/api/proxy"
)

// Environment variables of speech proxy (flags win).
const (
	envProxyUpstream = "SPEECH_PROXY_UPSTREAM"
	envProxyListen   = "SPEECH_PROXY_LISTEN"
)

// runProxy serves a validating reverse proxy until ctx ends (SIGINT or
// SIGTERM), then drains in-flight requests and exits 0.
func runProxy(ctx context.Context, e *env, args []string) int {
	fs := flag.NewFlagSet("speech proxy", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	upstream := fs.String("upstream", "", "server to forward to, e.g. http://127.0.0.1:8080 (default $"+envProxyUpstream+")")
	listen := fs.String("listen", "", "address to listen on (default $"+envProxyListen+", then 127.0.0.1:8081; :0 picks a free port)")
	strict := fs.Bool("strict", false, "refuse violating traffic: invalid requests get 4xx without reaching the upstream, invalid responses become 500")
	logJSON := fs.Bool("log-json", false, "log JSON lines instead of text")
	verbose := fs.Bool("v", false, "log every request, not only violations")
	harFile := fs.String("har", "", "record every exchange to this file as HAR 1.2 (keys redacted), written when the proxy stops (SIGINT/SIGTERM); replay it with speech contract --replay")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: speech proxy --upstream URL [--listen ADDR] [--strict]\n\n"+
			"Forwards to the upstream and validates every request and response of the API's\n"+
			"operations against openapi.json; each violation is logged with its request id.\n\nflags:\n")
		fs.PrintDefaults()
	}
	if _, code := parseClientArgs(e, fs, args, 0, 0); code != nil {
		return *code
	}
	if code := e.fillEnv(fs, map[string]string{"upstream": envProxyUpstream, "listen": envProxyListen}); code != nil {
		return *code
	}
	if *listen == "" {
		*listen = "127.0.0.1:8081"
	}
	if *upstream == "" {
		fmt.Fprintln(e.stderr, "speech proxy: --upstream is required")
		fs.Usage()
		return exitUsage
	}
	up, err := url.Parse(*upstream)
	if err != nil {
		fmt.Fprintf(e.stderr, "speech proxy: --upstream %q: %v\n", *upstream, err)
		return exitUsage
	}
	level := slog.LevelInfo
	if *verbose {
		level = slog.LevelDebug
	}
	var handler slog.Handler = slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: level})
	if *logJSON {
		handler = slog.NewJSONHandler(e.stderr, &slog.HandlerOptions{Level: level})
	}
	log := slog.New(handler)
	var rec *har.Recorder
	if *harFile != "" {
		rec = har.NewRecorder("speech proxy", "asyncspeech")
		// Fail now, not at shutdown after hours of traffic, if the file
		// cannot be written.
		if err := rec.WriteFile(*harFile); err != nil {
			fmt.Fprintf(e.stderr, "speech proxy: --har: %v\n", err)
			return exitUsage
		}
	}
	h, err := proxy.New(ctx, up, proxy.Options{Strict: *strict, Logger: log, HAR: rec})
	if err != nil {
		fmt.Fprintf(e.stderr, "speech proxy: %v\n", err)
		return exitUsage
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		fmt.Fprintf(e.stderr, "speech proxy: listen on %s: %v\n", *listen, err)
		return exitFailure
	}
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       time.Minute,
		WriteTimeout:      2 * time.Minute,
		IdleTimeout:       2 * time.Minute,
	}
	mode := "log"
	if *strict {
		mode = "strict"
	}
	log.Info("listening on http://"+ln.Addr().String(), "upstream", up.String(), "mode", mode)
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	select {
	case err := <-served:
		fmt.Fprintf(e.stderr, "speech proxy: %v\n", err)
		return exitFailure
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		fmt.Fprintf(e.stderr, "speech proxy: shutdown: %v\n", err)
		return exitFailure
	}
	if rec != nil {
		if err := rec.WriteFile(*harFile); err != nil {
			fmt.Fprintf(e.stderr, "speech proxy: %v\n", err)
			return exitFailure
		}
		log.Info("recorded "+*harFile, "entries", rec.Len())
	}
	log.Info("proxy stopped")
	return exitOK
}
