// Package proxy is a validating reverse proxy for the speech API: it sits
// between any client and any server, checks every request and response of
// the spec's operations against openapi.json (with api/validate, the same
// validator the reference server runs) and logs each violation with the
// request's id. In strict mode it also refuses what violates: an invalid
// request is answered 4xx without reaching the upstream, an invalid response
// is replaced by a 500 {"message"}.
//
// Requests reach the upstream byte for byte as the client sent them: the
// validator writes schema defaults into the body it checks, so the proxy
// forwards the original bytes instead.
package proxy

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httputil"
	"net/url"
	"slices"

	"github.com/distributeai/asyncspeech/api/apierr"
	"github.com/distributeai/asyncspeech/api/har"
	"github.com/distributeai/asyncspeech/api/reqid"
	"github.com/distributeai/asyncspeech/api/validate"
)

// Options configure a proxy.
type Options struct {
	// Strict refuses violating traffic instead of only logging it.
	Strict bool
	// Logger receives violations (with request_id) and one debug line per
	// request. Nil means slog.Default().
	Logger *slog.Logger
	// Transport reaches the upstream; nil means http.DefaultTransport.
	Transport http.RoundTripper
	// MaxBodyBytes bounds request bodies read for validation (default 1 MiB,
	// the reference server's limit); larger ones are answered 413.
	MaxBodyBytes int64
	// HAR, when set, records every exchange (any path) as the client saw
	// it, credentials redacted; the caller writes it out (har.Recorder).
	HAR *har.Recorder
}

// RequestIDHeader carries the request id to the upstream and back to the
// client, so a violation in the proxy's log can be matched to both sides.
const RequestIDHeader = reqid.Header

// UpstreamRequestIDHeader carries the upstream's own request id back to the
// client when the upstream ignored the proxy's.
const UpstreamRequestIDHeader = "X-Upstream-Request-Id"

type originalBodyKey struct{}

// New returns a handler that proxies to upstream (scheme, host and optional
// path prefix) and validates the traffic of the spec's operations. Paths the
// spec does not describe (result audio, health checks) are proxied without
// validation.
func New(ctx context.Context, upstream *url.URL, opts Options) (http.Handler, error) {
	if upstream == nil || (upstream.Scheme != "http" && upstream.Scheme != "https") || upstream.Host == "" {
		return nil, fmt.Errorf("proxy: upstream %v: want an absolute http(s) URL", upstream)
	}
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	maxBody := opts.MaxBodyBytes
	if maxBody <= 0 {
		maxBody = 1 << 20
	}
	// Every line the validator logs gets the request id from its context.
	log = slog.New(&requestIDHandler{next: log.Handler()})
	v, err := validate.New(ctx, validate.Options{
		Strict:                 opts.Strict,
		ExtensionStatuses:      validate.ExtensionStatuses(),
		ForwardInvalidRequests: !opts.Strict,
		Logger:                 log,
	})
	if err != nil {
		return nil, fmt.Errorf("proxy: %w", err)
	}

	rp := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(upstream)
			pr.SetXForwarded()
			pr.Out.Header.Set(RequestIDHeader, reqid.From(pr.In.Context()))
			if orig, ok := pr.In.Context().Value(originalBodyKey{}).([]byte); ok {
				pr.Out.Body = io.NopCloser(bytes.NewReader(orig))
				pr.Out.ContentLength = int64(len(orig))
				pr.Out.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(orig)), nil }
			}
		},
		Transport: opts.Transport,
		ModifyResponse: func(resp *http.Response) error {
			// The client gets the proxy's id, the one its log lines carry;
			// an upstream that made its own keeps it visible beside it.
			id := reqid.From(resp.Request.Context())
			if up := resp.Header.Get(RequestIDHeader); up != "" && up != id {
				resp.Header.Set(UpstreamRequestIDHeader, up)
			}
			resp.Header.Set(RequestIDHeader, id)
			return nil
		},
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			log.ErrorContext(r.Context(), "upstream unreachable", "upstream", upstream.String(), "error", err)
			// This 502 is the proxy's own: validating it as the upstream's
			// answer would log a contract violation nobody committed.
			validate.MarkOwn(w)
			apierr.Write(w, apierr.CodeBadGateway, "upstream unreachable")
		},
	}
	validated := v.Middleware(rp)

	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := reqid.Choose(r.Header.Get(RequestIDHeader))
		w.Header().Set(RequestIDHeader, id)
		ctx := reqid.With(r.Context(), id)
		log.DebugContext(ctx, "proxy request", "method", r.Method, "path", r.URL.Path)
		allowed := v.Allow(r.URL.Path)
		if len(allowed) == 0 {
			rp.ServeHTTP(w, r.WithContext(ctx))
			return
		}
		if !slices.Contains(allowed, r.Method) && !opts.Strict {
			// The validator would answer 405 itself; in log mode the upstream
			// answers, and the violation is only logged.
			log.InfoContext(ctx, "invalid request", "method", r.Method, "path", r.URL.Path,
				"status", http.StatusMethodNotAllowed, "message", "method not in the spec for this path")
			rp.ServeHTTP(w, r.WithContext(ctx))
			return
		}
		// Work on a copy: the server must keep its own request's body to
		// notice a body left unread and close the connection.
		r = r.WithContext(ctx)
		var orig []byte
		if r.Body != nil && r.Body != http.NoBody {
			b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
			_ = r.Body.Close()
			if err != nil {
				var tooBig *http.MaxBytesError
				if errors.As(err, &tooBig) {
					log.InfoContext(ctx, "invalid request", "method", r.Method, "path", r.URL.Path, "status", http.StatusRequestEntityTooLarge)
					apierr.Write(w, apierr.CodeTooLarge, fmt.Sprintf("request body is larger than %d bytes", maxBody))
					return
				}
				apierr.Write(w, apierr.CodeBadRequest, "request body could not be read")
				return
			}
			orig = b
			r.Body = io.NopCloser(bytes.NewReader(b))
			r.ContentLength = int64(len(b))
		}
		validated.ServeHTTP(w, r.WithContext(context.WithValue(ctx, originalBodyKey{}, orig)))
	})
	if opts.HAR != nil {
		return opts.HAR.Middleware(h), nil
	}
	return h, nil
}

// requestIDHandler adds the request id of the record's context to every
// log record.
type requestIDHandler struct{ next slog.Handler }

func (h *requestIDHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return h.next.Enabled(ctx, l)
}

func (h *requestIDHandler) Handle(ctx context.Context, r slog.Record) error {
	if id := reqid.From(ctx); id != "" {
		r = r.Clone()
		r.AddAttrs(slog.String("request_id", id))
	}
	return h.next.Handle(ctx, r)
}

func (h *requestIDHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return &requestIDHandler{next: h.next.WithAttrs(attrs)}
}

func (h *requestIDHandler) WithGroup(name string) slog.Handler {
	return &requestIDHandler{next: h.next.WithGroup(name)}
}
