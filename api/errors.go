package api

import (
	"errors"
	"log/slog"
	"net/http"

	"github.com/distributeai/asyncspeech/api/validate"
)

// Code classifies an error the server answers with. Each code has one HTTP
// status (Code.Status); every error body is {"message"}.
type Code string

// The error codes of the server. The statuses of CodeUnauthorized,
// CodeTooLarge, CodeUnsupportedMedia, CodeRateLimited and CodeUnavailable are
// documented extensions to the vendor's spec (docs/server.md).
const (
	CodeBadRequest       Code = "bad_request"
	CodeUnauthorized     Code = "unauthorized"
	CodeNotFound         Code = "not_found"
	CodeMethodNotAllowed Code = "method_not_allowed"
	CodeTooLarge         Code = "too_large"
	CodeUnsupportedMedia Code = "unsupported_media_type"
	CodeRateLimited      Code = "rate_limited"
	CodeUnavailable      Code = "unavailable"
	CodeInternal         Code = "internal"
)

// Status is the one table from error code to HTTP status.
func (c Code) Status() int {
	switch c {
	case CodeBadRequest:
		return http.StatusBadRequest
	case CodeUnauthorized:
		return http.StatusUnauthorized
	case CodeNotFound:
		return http.StatusNotFound
	case CodeMethodNotAllowed:
		return http.StatusMethodNotAllowed
	case CodeTooLarge:
		return http.StatusRequestEntityTooLarge
	case CodeUnsupportedMedia:
		return http.StatusUnsupportedMediaType
	case CodeRateLimited:
		return http.StatusTooManyRequests
	case CodeUnavailable:
		return http.StatusServiceUnavailable
	default:
		return http.StatusInternalServerError
	}
}

// ExtensionStatuses are the statuses this server may send beyond those the
// spec documents for an operation, each with a {"message"} body. The
// response validator is told to accept them.
func ExtensionStatuses() []int {
	return []int{
		http.StatusBadRequest, // result: malformed id (the spec documents 400 for create only)
		http.StatusUnauthorized,
		http.StatusRequestEntityTooLarge,
		http.StatusUnsupportedMediaType,
		http.StatusTooManyRequests,
		http.StatusServiceUnavailable,
	}
}

// Error is an error the server answers with: Message is shown to the
// client, Err (internal detail) only to the log.
type Error struct {
	Code    Code
	Message string
	Err     error
}

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
		e = &Error{Code: CodeInternal, Message: "internal error", Err: err}
	}
	status := e.Code.Status()
	if status >= 500 {
		log.LogAttrs(r.Context(), slog.LevelError, "request failed",
			slog.String("request_id", RequestID(r.Context())), slog.String("code", string(e.Code)), slog.Any("error", err))
	}
	msg := e.Message
	if msg == "" {
		msg = http.StatusText(status)
	}
	validate.WriteMessage(w, status, msg)
}
