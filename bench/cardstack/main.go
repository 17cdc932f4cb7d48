// Command cardstack is the second baseline of bench/compare.sh: the design
// card's stack done the obvious way, so speechd's result call can be
// compared with what a team would build first from openapi.json:
//
//   - the oapi-codegen strict std-http server this module generates
//     (package generated, same generator version),
//   - github.com/oapi-codegen/nethttp-middleware request validation
//     (kin-openapi, gorilla/mux router, the spec's apiKey security checked
//     by an AuthenticationFunc that compares the key),
//   - a kin-openapi response-validating middleware (buffers the answer,
//     openapi3filter.ValidateResponse, then sends it; 500 on a violation),
//   - a handler that answers every result call with a fixed COMPLETED task
//     of the size speechd sends (one signed link), carrying the requested
//     id, and every create call with a fixed id.
//
// No store, no logging, no metrics. It listens on loopback only and prints
// "listening on http://HOST:PORT" like speechd. It is built only by
// bench/compare.sh; nothing in the module imports it.
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"syscall"

	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
	nethttpmiddleware "github.com/oapi-codegen/nethttp-middleware"

	asyncspeech "github.com/distributeai/asyncspeech"
	"github.com/distributeai/asyncspeech/bench/internal/serve"
	"github.com/distributeai/asyncspeech/generated"
)

// TaskID is the id the create call hands out.
const TaskID = "5b0c3c1e-8f8a-4d43-9a51-1c2f6f0e7d11"

// fixed is the strict server: a fixed COMPLETED task for every id.
type fixed struct{}

func (fixed) AsyncSpeechCreate(context.Context, generated.AsyncSpeechCreateRequestObject) (generated.AsyncSpeechCreateResponseObject, error) {
	return generated.AsyncSpeechCreate200JSONResponse{Id: TaskID}, nil
}

func (fixed) AsyncSpeechResult(_ context.Context, req generated.AsyncSpeechResultRequestObject) (generated.AsyncSpeechResultResponseObject, error) {
	id := req.Body.Id
	finished := 1764000001.456
	// The link has the shape and length of speechd's signed links.
	u := "http://127.0.0.1:8080/results/" + id + "/0.wav?exp=1764086400&sig=3b1f0c7a9e2d4b6f8a0c1e3d5f7b9a2c4e6f8a0b1c3d5e7f9a1b3c5d7e9f0a2b"
	return generated.AsyncSpeechResult200JSONResponse{
		Id:       id,
		Status:   generated.AsyncSpeechResult200JSONResponseBodyStatusCOMPLETED,
		Created:  1764000000.123,
		Finished: &finished,
		Model:    "Chatterbox",
		Results:  []generated.AsyncSpeechResult200JSONResponseBody_Results{{Url: &u}},
	}, nil
}

// recorder buffers a response so it can be validated before it is sent.
type recorder struct {
	h      http.Header
	status int
	body   bytes.Buffer
}

func (r *recorder) Header() http.Header { return r.h }
func (r *recorder) WriteHeader(s int) {
	if r.status == 0 {
		r.status = s
	}
}
func (r *recorder) Write(p []byte) (int, error) {
	r.WriteHeader(http.StatusOK)
	return r.body.Write(p)
}

// validateResponses is the response half: every answer of a documented
// route is checked with openapi3filter.ValidateResponse before it is sent.
func validateResponses(router routers.Router, next http.Handler) http.Handler {
	opts := &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc, IncludeResponseStatus: true}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := &recorder{h: http.Header{}}
		next.ServeHTTP(rec, r)
		if rec.status == 0 {
			rec.status = http.StatusOK
		}
		if route, params, err := router.FindRoute(r); err == nil {
			in := &openapi3filter.ResponseValidationInput{
				RequestValidationInput: &openapi3filter.RequestValidationInput{Request: r, PathParams: params, Route: route, Options: opts},
				Status:                 rec.status,
				Header:                 rec.h,
				Options:                opts,
			}
			in.SetBodyBytes(rec.body.Bytes())
			if err := openapi3filter.ValidateResponse(r.Context(), in); err != nil {
				http.Error(w, `{"message":"response does not match the contract"}`, http.StatusInternalServerError)
				return
			}
		}
		for k, v := range rec.h {
			w.Header()[k] = v
		}
		w.WriteHeader(rec.status)
		_, _ = w.Write(rec.body.Bytes())
	})
}

// newHandler builds the stack; key is the one accepted API key.
func newHandler(ctx context.Context, key string) (http.Handler, error) {
	// Each middleware gets its own copy: nethttp-middleware clears the
	// servers of the document it is given.
	reqDoc, err := asyncspeech.ParseSpec(ctx)
	if err != nil {
		return nil, err
	}
	respDoc, err := asyncspeech.ParseSpec(ctx)
	if err != nil {
		return nil, err
	}
	respDoc.Servers = nil
	router, err := gorillamux.NewRouter(respDoc)
	if err != nil {
		return nil, fmt.Errorf("response router: %w", err)
	}
	mux := http.NewServeMux()
	h := generated.HandlerWithOptions(generated.NewStrictHandler(fixed{}, nil), generated.StdHTTPServerOptions{BaseRouter: mux})
	validateRequests := nethttpmiddleware.OapiRequestValidatorWithOptions(reqDoc, &nethttpmiddleware.Options{
		DoNotValidateServers:  true,
		SilenceServersWarning: true,
		Options: openapi3filter.Options{
			AuthenticationFunc: func(_ context.Context, in *openapi3filter.AuthenticationInput) error {
				if in.RequestValidationInput.Request.Header.Get("Authorization") != key {
					return errors.New("unknown API key")
				}
				return nil
			},
		},
	})
	return validateRequests(validateResponses(router, h)), nil
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("cardstack", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:0", "listen address (loopback only)")
	key := fs.String("key", "", "the accepted API key (required)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if err := serve.CheckLoopback(*addr); err != nil {
		fmt.Fprintf(stderr, "cardstack: %v\n", err)
		return 2
	}
	if *key == "" {
		fmt.Fprintln(stderr, "cardstack: --key is required")
		return 2
	}
	h, err := newHandler(ctx, *key)
	if err != nil {
		fmt.Fprintf(stderr, "cardstack: %v\n", err)
		return 1
	}
	return serve.Run(ctx, "cardstack", *addr, h, stdout, stderr)
}
