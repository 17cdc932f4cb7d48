package server

import (
	"errors"
	"log/slog"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/distributeai/asyncspeech/api/apierr"
	"github.com/distributeai/asyncspeech/api/reqid"
)

// Error is an error the server answers with: Code picks the status
// (apierr's one table), Message is shown to the client, Err (internal
// detail) only to the log.
type Error struct {
	Code    apierr.Code
	Message string
	Err     error
	// RetryAfter, when positive, is sent as Retry-After (whole seconds).
	RetryAfter time.Duration
}

// Error returns the client's message and, when there is one, the internal
// cause.
func (e *Error) Error() string {
	if e.Err != nil {
		return e.Message + ": " + e.Err.Error()
	}
	return e.Message
}

// Unwrap returns the internal cause.
func (e *Error) Unwrap() error { return e.Err }

// writeError answers err as {"message"}. An *Error keeps its code and
// message; anything else is an internal error whose text is logged, never
// sent.
func writeError(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error) {
	var e *Error
	if !errors.As(err, &e) {
		e = &Error{Code: apierr.CodeInternal, Message: "internal error", Err: err}
	}
	status := e.Code.Status()
	// A refusal the client is told to retry (a full backlog) is the server
	// working as configured, not failing: it is not logged as an error.
	if status >= 500 && e.RetryAfter == 0 {
		log.LogAttrs(r.Context(), slog.LevelError, "request failed",
			slog.String("request_id", reqid.From(r.Context())), slog.String("code", string(e.Code)), slog.Any("error", err))
	}
	if e.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(e.RetryAfter.Seconds()))))
	}
	msg := e.Message
	if msg == "" {
		msg = http.StatusText(status)
	}
	apierr.WriteMessage(w, status, msg)
}
