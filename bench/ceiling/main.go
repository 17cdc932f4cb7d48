// Command ceiling is the baseline of bench/compare.sh: a raw net/http server
// that answers the result call with a fixed, contract-valid body and does
// nothing else (no validation, no auth, no store). Whatever it serves per
// second on a machine is the most any implementation of the result call can
// serve there through net/http, so the other servers are reported as a
// ratio to it.
//
// It also answers the create call with a fixed id, so `speech bench
// --scenario result` can set up against it unchanged. It listens on
// loopback only and prints "listening on http://HOST:PORT" like speechd.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"syscall"

	"github.com/distributeai/asyncspeech/bench/internal/serve"
)

// TaskID is the id the ceiling hands out and reports.
const TaskID = "5b0c3c1e-8f8a-4d43-9a51-1c2f6f0e7d11"

// resultBody is a COMPLETED task with one signed result URL: the shape and
// size of what speechd returns for a finished task, so the bytes on the wire
// are comparable.
const resultBody = `{"id":"` + TaskID + `","status":"COMPLETED","created":1764000000.123,"finished":1764000001.456,"model":"Chatterbox",` +
	`"results":[{"url":"http://127.0.0.1:8080/results/` + TaskID + `/0.wav?exp=1764086400&sig=3b1f0c7a9e2d4b6f8a0c1e3d5f7b9a2c4e6f8a0b1c3d5e7f9a1b3c5d7e9f0a2b"}]}`

const createBody = `{"id":"` + TaskID + `"}`

// newHandler serves the two fixed bodies. The request body is drained (so
// keep-alive works as for a real server) but not parsed.
func newHandler() http.Handler {
	result := []byte(resultBody)
	create := []byte(createBody)
	resultLen := strconv.Itoa(len(result))
	createLen := strconv.Itoa(len(create))
	fixed := func(body []byte, length string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.Copy(io.Discard, r.Body)
			h := w.Header()
			h["Content-Type"] = []string{"application/json"}
			h["Content-Length"] = []string{length}
			_, _ = w.Write(body)
		}
	}
	mux := http.NewServeMux()
	mux.Handle("POST /async/speech/result", fixed(result, resultLen))
	mux.Handle("POST /async/speech/create", fixed(create, createLen))
	return mux
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("ceiling", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:0", "listen address (loopback only)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if err := serve.CheckLoopback(*addr); err != nil {
		fmt.Fprintf(stderr, "ceiling: %v\n", err)
		return 2
	}
	return serve.Run(ctx, "ceiling", *addr, newHandler(), stdout, stderr)
}
