package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	asyncspeech "github.com/distributeai/asyncspeech"
	"github.com/distributeai/asyncspeech/api/apierr"
	"github.com/distributeai/asyncspeech/api/server/auth"
	"github.com/distributeai/asyncspeech/api/validate"
	"github.com/distributeai/asyncspeech/generated"
	"golang.org/x/sync/semaphore"
)

// DefaultMaxBodyInFlight is the default bound on request body bytes held
// at once: about 1 200 create bodies of the largest valid size.
const DefaultMaxBodyInFlight = 64 << 20

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
	// SkipValidation mounts the handler without the spec validator (no
	// request or response is checked against openapi.json). It exists to
	// measure what validation costs and to diagnose the validator itself;
	// never run a server for clients with it.
	SkipValidation bool
	// MaxValidating bounds the request bodies validated at once (0 =
	// validate.DefaultMaxConcurrent); see validate.Options.MaxConcurrent.
	MaxValidating int
	// MaxBodyInFlight bounds the bytes of request bodies held by all
	// requests at once (0 = DefaultMaxBodyInFlight): a request whose body
	// finds no room within 2 s is answered 503 with Retry-After.
	MaxBodyInFlight int64
	// Verdicts is how many passes of byte-identical requests and responses
	// the validator reuses (0 = validate.DefaultVerdicts, negative = off);
	// see validate.Options.Verdicts.
	Verdicts int
	// Validator, when set, is the spec validator to mount (unless
	// SkipValidation), built by NewValidator from these options: a caller
	// that keeps it can read its counters (VerdictStats). Nil: NewHandler
	// builds its own.
	Validator *validate.Validator
}

// NewValidator builds the spec validator NewHandler mounts, from the
// validator's fields of opts (StrictResponses, Logger, MaxValidating,
// Verdicts).
func NewValidator(opts HandlerOptions) (*validate.Validator, error) {
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	// The validator reads the embedded spec parsed once per process:
	// nothing here blocks, so there is no context to bound.
	v, err := validate.New(context.Background(), validate.Options{
		Strict:            opts.StrictResponses,
		ExtensionStatuses: validate.ExtensionStatuses(),
		Logger:            log,
		MaxConcurrent:     opts.MaxValidating,
		Verdicts:          opts.Verdicts,
	})
	if err != nil {
		return nil, fmt.Errorf("server: build validator: %w", err)
	}
	return v, nil
}

// NewHandler composes the HTTP stack around srv, outermost first: request id
// and logging, panic recovery, shutdown gate, auth (401), rate limit (429),
// method (405 with Allow), content type (415), body limit (413), the spec
// validator (400) unless SkipValidation, and the generated strict handler on
// a net/http ServeMux.
func NewHandler(srv *Server, opts HandlerOptions) (http.Handler, error) {
	return newHandler(srv, opts, !opts.SkipValidation)
}

// newHandler is NewHandler with the spec validator optional, so the
// benchmark can measure what validation costs.
func newHandler(srv *Server, opts HandlerOptions, validated bool) (http.Handler, error) {
	if srv == nil {
		return nil, errors.New("server: NewHandler: nil Server")
	}
	if srv.links == nil {
		return nil, errors.New("server: NewHandler: Server has no result link builder (Options.Links)")
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
		v := opts.Validator
		if v == nil {
			var err error
			if v, err = NewValidator(opts); err != nil {
				return nil, err
			}
		}
		h = v.Middleware(h)
	} else {
		h = notFoundAsMessage(mux, log)
	}
	// Everything that reads only headers runs before the body is read, so
	// an unauthenticated or rate-limited client cannot make the server
	// buffer a body.
	perOp, err := validate.BodyLimits(nil)
	if err != nil {
		return nil, fmt.Errorf("server: body limits: %w", err)
	}
	inFlight := opts.MaxBodyInFlight
	if inFlight <= 0 {
		inFlight = DefaultMaxBodyInFlight
	}
	h = limitBody(maxBody, perOp, semaphore.NewWeighted(inFlight), log, h)
	h = requireJSON(log, h)
	methods, err := operationMethods()
	if err != nil {
		return nil, err
	}
	h = allowMethods(methods, log, h)
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

// operationMethods maps each path of the spec's operations to its methods.
func operationMethods() (map[string][]string, error) {
	doc, err := asyncspeech.Spec()
	if err != nil {
		return nil, fmt.Errorf("server: load embedded spec: %w", err)
	}
	out := map[string][]string{}
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			out[path] = append(out[path], method)
		}
		slices.Sort(out[path])
	}
	return out, nil
}

// allowMethods answers 405 with an Allow header to a method an operation's
// path does not take. It runs before the content-type and body checks, so
// `PUT /async/speech/create` hears "use POST", not "send JSON"; other paths
// pass untouched (the validator or the mux answers 404).
func allowMethods(methods map[string][]string, log *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		allowed, ok := methods[r.URL.Path]
		if ok && !slices.Contains(allowed, r.Method) {
			w.Header().Set("Allow", strings.Join(allowed, ", "))
			writeError(w, r, log, &Error{Code: apierr.CodeMethodNotAllowed,
				Message: fmt.Sprintf("method %s not allowed on %s; use %s", truncate(r.Method, 16), r.URL.Path, strings.Join(allowed, ", "))})
			return
		}
		next.ServeHTTP(w, r)
	})
}

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
