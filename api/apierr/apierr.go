// Package apierr is the one table from error code to HTTP status and the one
// writer of the {"message"} error body, shared by every handler of this
// module (the API server, the validator, the result files, the proxy and the
// daemon), so a status is never chosen in two places.
package apierr

import (
	"encoding/json"
	"net/http"
	"strconv"
)

// Code classifies an error a handler answers with. Each code has one HTTP
// status (Code.Status); every error body is {"message"}.
type Code string

// The error codes. The statuses of CodeUnauthorized, CodeTooLarge,
// CodeUnsupportedMedia, CodeRateLimited and CodeUnavailable on the API's two
// operations are documented extensions to the vendor's spec (docs/server.md).
const (
	CodeBadRequest       Code = "bad_request"
	CodeUnauthorized     Code = "unauthorized"
	CodeForbidden        Code = "forbidden"
	CodeNotFound         Code = "not_found"
	CodeMethodNotAllowed Code = "method_not_allowed"
	CodeTooLarge         Code = "too_large"
	CodeUnsupportedMedia Code = "unsupported_media_type"
	CodeRateLimited      Code = "rate_limited"
	CodeInternal         Code = "internal"
	CodeBadGateway       Code = "bad_gateway"
	CodeUnavailable      Code = "unavailable"
)

// Status is the one table from error code to HTTP status. An unknown code
// is an internal error.
func (c Code) Status() int {
	switch c {
	case CodeBadRequest:
		return http.StatusBadRequest
	case CodeUnauthorized:
		return http.StatusUnauthorized
	case CodeForbidden:
		return http.StatusForbidden
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
	case CodeBadGateway:
		return http.StatusBadGateway
	case CodeUnavailable:
		return http.StatusServiceUnavailable
	default:
		return http.StatusInternalServerError
	}
}

// Write answers code's status with the body {"message": msg}.
func Write(w http.ResponseWriter, code Code, msg string) {
	WriteMessage(w, code.Status(), msg)
}

// RetryAfterUnavailable is the Retry-After (seconds) of a 503 whose writer
// set none: a 503 always says when to come back (docs/server.md), and
// every cause of one here (shutdown, a store that cannot write, a full
// backlog) is worth retrying about this soon, with the client's backoff.
const RetryAfterUnavailable = "1"

// WriteMessage answers status with the JSON body {"message": msg}, the shape
// of every error this module's servers send. Prefer Write; this form is for
// statuses decided elsewhere (a validator's verdict on a request). A 503
// carries Retry-After: the caller's if it set one, else
// RetryAfterUnavailable.
func WriteMessage(w http.ResponseWriter, status int, msg string) {
	b, err := json.Marshal(struct {
		Message string `json:"message"`
	}{msg})
	if err != nil { // a string always marshals; keep the contract even so
		b = []byte(`{"message":"internal error"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)+1))
	if status == http.StatusServiceUnavailable && w.Header().Get("Retry-After") == "" {
		w.Header().Set("Retry-After", RetryAfterUnavailable)
	}
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}
