package client

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// ErrNotFound matches, through errors.Is, an *APIError with status 404: the
// task does not exist or belongs to another API key (the server does not say
// which, on purpose).
var ErrNotFound = errors.New("not found")

// ErrTaskFailed matches, through errors.Is, a *TaskFailedError.
var ErrTaskFailed = errors.New("task ended in ERROR")

// ErrNoAPIKey is returned by New when no API key was given and
// DISTRIBUTE_API_KEY is empty.
var ErrNoAPIKey = errors.New("no API key: set DISTRIBUTE_API_KEY or use client.WithAPIKey")

// APIError is an HTTP response outside 2xx from the API or a result URL.
// Its message reads "operation: server message (HTTP status)", e.g.
// "result: task 0f8f… not found (HTTP 404)" or "result of task 0f8f…:
// overloaded (HTTP 503, after 4 attempts)": the task is named once, by the
// server's message when it already does, else after the operation.
type APIError struct {
	// Operation is the call that failed: "create", "result" or "download".
	Operation string
	// TaskID is the task a result call asked about; empty for create and
	// download.
	TaskID string
	// StatusCode is the HTTP status of the last attempt.
	StatusCode int
	// Message is the server's "message" field, or a short excerpt of the
	// body, or the status text when the body said nothing useful.
	Message string
	// RetryAfter is the server's Retry-After, zero when absent.
	RetryAfter time.Duration
	// Attempts is how many requests were sent before giving up.
	Attempts int
}

// Error implements error.
func (e *APIError) Error() string {
	return subject(e.Operation, e.TaskID, e.Message) + ": " + e.detail()
}

// detail is the error without its operation: the server's message and
// the status (and attempts), for messages that already name the operation.
func (e *APIError) detail() string {
	msg := e.Message
	if msg == "" {
		msg = http.StatusText(e.StatusCode)
	}
	if msg == "" {
		msg = "unknown status"
	}
	if e.Attempts > 1 {
		return fmt.Sprintf("%s (HTTP %d, after %d attempts)", msg, e.StatusCode, e.Attempts)
	}
	return fmt.Sprintf("%s (HTTP %d)", msg, e.StatusCode)
}

// subject names what failed: the operation, plus the task unless msg (the
// rest of the error) already names it.
func subject(op, taskID, msg string) string {
	if taskID == "" || strings.Contains(msg, taskID) {
		return op
	}
	return op + " of task " + taskID
}

// Is makes errors.Is(err, ErrNotFound) true for a 404.
func (e *APIError) Is(target error) bool {
	return target == ErrNotFound && e.StatusCode == http.StatusNotFound
}

// IsNotFound reports whether err is, or wraps, an *APIError with status 404.
func IsNotFound(err error) bool { return errors.Is(err, ErrNotFound) }

// TaskFailedError is returned by Wait and Speak when the task ended in
// ERROR. The server keeps the cause to itself (the contract has no field for
// it), so the task is all there is to report.
type TaskFailedError struct {
	Task *Task
}

// Error implements error.
func (e *TaskFailedError) Error() string {
	return fmt.Sprintf("task %s ended in ERROR", e.Task.ID)
}

// Is makes errors.Is(err, ErrTaskFailed) true.
func (e *TaskFailedError) Is(target error) bool { return target == ErrTaskFailed }

// ContractError reports a response that does not match the embedded
// openapi.json: the server drifted from the contract. It is only returned by
// a client built WithResponseValidation, and is never retried.
type ContractError struct {
	Operation  string // "create" or "result"
	TaskID     string // the task a result call asked about; empty for create
	StatusCode int
	Err        error // every *validate.ResponseError found, joined
}

// Error implements error.
func (e *ContractError) Error() string {
	return fmt.Sprintf("%s: HTTP %d response violates the contract: %v", subject(e.Operation, e.TaskID, ""), e.StatusCode, e.Err)
}

// Unwrap returns the validation error.
func (e *ContractError) Unwrap() error { return e.Err }
