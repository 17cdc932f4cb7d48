package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"runtime/debug"
	"strings"
	"sync/atomic"
	"time"

	"github.com/distributeai/asyncspeech/api/apierr"
	"github.com/distributeai/asyncspeech/api/reqid"
	"github.com/distributeai/asyncspeech/api/server/auth"
	"github.com/distributeai/asyncspeech/api/validate"
	"github.com/distributeai/asyncspeech/internal/respwriter"
	"golang.org/x/sync/semaphore"
)

// RequestLog gives every request an id (the client's X-Request-Id when sane,
// else a random one), echoes it in the X-Request-Id response header, stores
// it in the context (RequestID) and logs one line per request.
func RequestLog(log *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		id := reqid.Choose(r.Header.Get(reqid.Header))
		w.Header().Set(reqid.Header, id)
		r = r.WithContext(reqid.With(r.Context(), id))
		// An outer layer (speechd's metrics) may have wrapped w already:
		// it sees the same writes, so its recorder serves here too.
		sw, ok := w.(*respwriter.Recorder)
		if !ok {
			sw = respwriter.New(w)
		}
		next.ServeHTTP(sw, r)
		log.LogAttrs(r.Context(), slog.LevelInfo, "request",
			slog.String("request_id", id), slog.String("method", r.Method), slog.String("path", r.URL.Path),
			slog.Int("status", sw.Status()), slog.Int64("bytes", sw.Bytes()), slog.Duration("duration", time.Since(start)))
	})
}

// Recover turns a panic in next into a 500 {"message"} that reveals nothing
// of the cause (which is logged with its stack), so one bad request cannot
// take the server down. http.ErrAbortHandler keeps its meaning.
func Recover(log *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// RequestLog, just outside, has wrapped w already: reuse its
		// recorder instead of allocating a second one per request.
		sw, ok := w.(*respwriter.Recorder)
		if !ok {
			sw = respwriter.New(w)
		}
		defer func() {
			v := recover()
			if v == nil {
				return
			}
			if v == http.ErrAbortHandler {
				panic(v)
			}
			log.LogAttrs(r.Context(), slog.LevelError, "panic serving request",
				slog.String("request_id", reqid.From(r.Context())), slog.String("path", r.URL.Path),
				slog.String("panic", fmt.Sprint(v)), slog.String("stack", string(debug.Stack())))
			if sw.Started() {
				// Part of a response is out; the connection is all that can
				// still signal the failure.
				panic(http.ErrAbortHandler)
			}
			writeError(w, r, log, &Error{Code: apierr.CodeInternal, Message: "internal error", Err: fmt.Errorf("panic: %v", v)})
		}()
		next.ServeHTTP(sw, r)
	})
}

// Gate answers 503 once closed: the server closes it when shutdown begins,
// so requests that still arrive on open connections are refused cleanly
// while in-flight ones finish.
type Gate struct{ closed atomic.Bool }

// Close makes the gate refuse every later request.
func (g *Gate) Close() { g.closed.Store(true) }

// Closed reports whether Close was called.
func (g *Gate) Closed() bool { return g.closed.Load() }

// Middleware wraps next with the gate.
func (g *Gate) Middleware(log *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if g.Closed() {
			w.Header().Set("Connection", "close")
			w.Header().Set("Retry-After", "1")
			writeError(w, r, log, &Error{Code: apierr.CodeUnavailable, Message: "server is shutting down; retry on another node or later"})
			return
		}
		next.ServeHTTP(w, r)
	})
}

// limitBody reads the body of an operation's request up front and answers
// 413 beyond the operation's limit (the largest body its schema accepts,
// validate.BodyLimits), never more than max; later readers get the buffered
// copy. Bodies held at once are bounded by inFlight (in bytes: the
// Content-Length, or the limit when there is none): a request that finds no
// room within bodyWait is answered 503 with Retry-After. A request to any
// other path is not read here at all (only capped at max): it is answered
// 404 or 405 without its body being buffered.
func limitBody(maxBody int64, perOp map[string]int64, inFlight *semaphore.Weighted, log *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		l, isOp := perOp[r.Method+" "+r.URL.Path]
		if !isOp {
			if r.Body != nil && r.Body != http.NoBody {
				r.Body = http.MaxBytesReader(w, r.Body, maxBody)
			}
			next.ServeHTTP(w, r)
			return
		}
		limit := min(l, maxBody)
		// The message is built only when it is sent: most requests fit.
		tooLarge := func() error {
			what := ""
			if limit == l {
				what = fmt.Sprintf(" (the largest body a valid request of %s %s can have)", r.Method, r.URL.Path)
			}
			return &Error{Code: apierr.CodeTooLarge, Message: fmt.Sprintf("request body is larger than %d bytes%s", limit, what)}
		}
		if r.ContentLength > limit {
			writeError(w, r, log, tooLarge())
			return
		}
		if r.Body != nil && r.Body != http.NoBody {
			weight := limit
			if r.ContentLength >= 0 {
				weight = max(r.ContentLength, 1)
			}
			if !inFlight.TryAcquire(weight) {
				ctx, cancel := context.WithTimeout(r.Context(), bodyWait)
				err := inFlight.Acquire(ctx, weight)
				cancel()
				if err != nil {
					writeError(w, r, log, &Error{Code: apierr.CodeUnavailable, RetryAfter: time.Second,
						Message: "server busy: too many request bodies in flight (--max-body-inflight); retry after 1 s"})
					return
				}
			}
			defer inFlight.Release(weight)
			body := r.Body
			if r.ContentLength < 0 {
				// Without a length only a limiting reader stops a long
				// body; with one (checked above) net/http's reader ends
				// at it.
				body = http.MaxBytesReader(w, r.Body, limit)
			}
			data, err := readBody(body, r.ContentLength)
			if err != nil {
				var mb *http.MaxBytesError
				if errors.As(err, &mb) {
					writeError(w, r, log, tooLarge())
					return
				}
				writeError(w, r, log, &Error{Code: apierr.CodeBadRequest, Message: "request body could not be read", Err: err})
				return
			}
			validate.SetBody(r, data)
		}
		next.ServeHTTP(w, r)
	})
}

// bodyWait is how long a request waits for room among the bodies in flight.
const bodyWait = 2 * time.Second

// requireJSON answers 415 to a POST, PUT or PATCH whose content type is not
// application/json (parameters such as charset are allowed).
func requireJSON(log *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.Method {
		case http.MethodPost, http.MethodPut, http.MethodPatch:
			// A compressed body would be read as JSON bytes it is not;
			// nothing here decompresses, so it is refused up front.
			if ce := r.Header.Get("Content-Encoding"); ce != "" && !strings.EqualFold(ce, "identity") {
				writeError(w, r, log, &Error{Code: apierr.CodeUnsupportedMedia, Message: fmt.Sprintf("content encoding %q is not supported: send the JSON body uncompressed", truncate(ce, 32))})
				return
			}
			ct := r.Header.Get("Content-Type")
			if ct == "application/json" {
				break // the common case, without parsing (and its map)
			}
			mt, _, err := mime.ParseMediaType(ct)
			if err != nil || mt != "application/json" {
				writeError(w, r, log, &Error{Code: apierr.CodeUnsupportedMedia, Message: fmt.Sprintf("content type must be application/json, got %q", truncate(r.Header.Get("Content-Type"), 64))})
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// authenticate answers 401 to a request without an accepted key and stores
// the key's owner identity in the context of the others.
func authenticate(a *auth.Authenticator, log *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		owner, err := a.Authenticate(r.Header.Get("Authorization"))
		if err != nil {
			w.Header().Set("WWW-Authenticate", `Bearer realm="asyncspeech"`)
			writeError(w, r, log, &Error{Code: apierr.CodeUnauthorized, Message: err.Error()})
			return
		}
		next.ServeHTTP(w, r.WithContext(auth.WithOwner(r.Context(), owner)))
	})
}

// preallocBody is the largest body read into a buffer of its announced
// size: a result call's, and most creates'.
const preallocBody = 4 << 10

// readBody reads a body whose Content-Length, if known (>= 0), is already
// within the limit into one buffer of that size, instead of letting
// io.ReadAll grow (and copy) its way there.
func readBody(body io.Reader, contentLength int64) ([]byte, error) {
	// Only a small body gets its whole buffer before its bytes arrive: a
	// client that announces a large one and sends it slowly holds only
	// what it has sent.
	if contentLength < 0 || contentLength > preallocBody {
		return io.ReadAll(body)
	}
	data := make([]byte, contentLength)
	if _, err := io.ReadFull(body, data); err != nil {
		return nil, err
	}
	// A body longer than its Content-Length is cut by net/http; one byte
	// more would be a protocol error, not this handler's concern.
	return data, nil
}
