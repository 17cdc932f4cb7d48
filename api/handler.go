package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/distributeai/asyncspeech/api/apierr"
	"github.com/distributeai/asyncspeech/api/auth"
	"github.com/distributeai/asyncspeech/api/validate"
	"github.com/distributeai/asyncspeech/generated"
)

// DefaultMaxBodyBytes is the request body limit when none is set: 1 MiB, far
// above the largest valid create request (4096 characters of input).
const DefaultMaxBodyBytes = 1 << 20

// HandlerOptions configure the middleware NewHandler puts around a Server.
type HandlerOptions struct {
	// Logger; nil means slog.Default().
	Logger *slog.Logger
	// Auth checks keys; nil means open development mode (any non-empty key).
	Auth *auth.Authenticator
	// MaxBodyBytes limits request bodies (413 beyond); 0 means DefaultMaxBodyBytes.
	MaxBodyBytes int64
	// RateLimit is the requests per second allowed per key (429 beyond);
	// 0 disables rate limiting.
	RateLimit float64
	// RateBurst is the bucket size; 0 means RateLimit rounded up (at least 1).
	RateBurst int
	// StrictResponses replaces a response that violates the spec with a
	// 500 {"message"} (violations are logged either way).
	StrictResponses bool
	// Gate, when set, refuses requests with 503 once closed (shutdown).
	Gate *Gate
	// Now is the rate limiter's clock; nil means time.Now.
	Now func() time.Time
}

// NewHandler composes the HTTP stack around srv, outermost first: request id
// and logging, panic recovery, shutdown gate, auth, rate limit, content
// type, body limit, the spec validator, and the generated strict handler on
// a net/http ServeMux.
func NewHandler(srv *Server, opts HandlerOptions) (http.Handler, error) {
	return newHandler(srv, opts, true)
}

// newHandler is NewHandler with the spec validator optional, so the
// benchmark can measure what validation costs.
func newHandler(srv *Server, opts HandlerOptions, validated bool) (http.Handler, error) {
	if srv == nil {
		return nil, errors.New("api: NewHandler: nil Server")
	}
	if srv.links == nil {
		return nil, errors.New("api: NewHandler: Server has no result link builder (Options.Links)")
	}
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	maxBody := opts.MaxBodyBytes
	if maxBody <= 0 {
		maxBody = DefaultMaxBodyBytes
	}
	a := opts.Auth
	if a == nil {
		a = auth.New(nil)
	}
	now := opts.Now
	if now == nil {
		now = time.Now
	}

	mux := http.NewServeMux()
	strict := generated.NewStrictHandlerWithOptions(srv, nil, generated.StrictHTTPServerOptions{
		RequestErrorHandlerFunc: func(w http.ResponseWriter, r *http.Request, err error) {
			writeError(w, r, log, decodeError(err))
		},
		ResponseErrorHandlerFunc: func(w http.ResponseWriter, r *http.Request, err error) {
			writeError(w, r, log, err)
		},
	})
	generated.HandlerWithOptions(strict, generated.StdHTTPServerOptions{
		BaseRouter: mux,
		ErrorHandlerFunc: func(w http.ResponseWriter, r *http.Request, err error) {
			writeError(w, r, log, &Error{Code: apierr.CodeBadRequest, Message: "invalid request", Err: err})
		},
	})
	var h http.Handler = mux
	if validated {
		// The validator reads the embedded spec parsed once per process:
		// nothing here blocks, so there is no context to bound.
		v, err := validate.New(context.Background(), validate.Options{
			Strict:            opts.StrictResponses,
			ExtensionStatuses: validate.ExtensionStatuses(),
			Logger:            log,
		})
		if err != nil {
			return nil, fmt.Errorf("api: build validator: %w", err)
		}
		h = v.Middleware(h)
	} else {
		h = notFoundAsMessage(mux, log)
	}
	// Everything that reads only headers runs before the body is read, so
	// an unauthenticated or rate-limited client cannot make the server
	// buffer a body.
	h = limitBody(maxBody, log, h)
	h = requireJSON(log, h)
	if opts.RateLimit > 0 {
		h = rateLimit(newLimiter(opts.RateLimit, opts.RateBurst, now), log, h)
	}
	h = authenticate(a, log, h)
	if opts.Gate != nil {
		h = opts.Gate.Middleware(log, h)
	}
	h = Recover(log, h)
	h = RequestLog(log, h)
	return h, nil
}

// ExtensionStatuses returns validate.ExtensionStatuses(), the one list of
// statuses this server sends beyond the spec; kept here for callers that
// configure their own validator of this server's responses.
func ExtensionStatuses() []int { return validate.ExtensionStatuses() }

// notFoundAsMessage keeps the {"message"} shape for unknown routes when the
// validator (which answers them otherwise) is absent.
func notFoundAsMessage(mux *http.ServeMux, log *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, pattern := mux.Handler(r); pattern == "" {
			writeError(w, r, log, &Error{Code: apierr.CodeNotFound, Message: fmt.Sprintf("no operation at %s %s", r.Method, r.URL.Path)})
			return
		}
		mux.ServeHTTP(w, r)
	})
}

// decodeError names what was wrong with a body the strict handler could not
// decode, without the decoder's Go-flavoured text.
func decodeError(err error) error {
	var mb *http.MaxBytesError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &mb):
		return &Error{Code: apierr.CodeTooLarge, Message: fmt.Sprintf("request body is larger than %d bytes", mb.Limit), Err: err}
	case errors.As(err, &te) && te.Field != "":
		return &Error{Code: apierr.CodeBadRequest, Message: te.Field + ": wrong type", Err: err}
	default:
		return &Error{Code: apierr.CodeBadRequest, Message: "request body is not valid JSON", Err: err}
	}
}
