// Package task is the domain of this module: a speech task, its seven
// statuses and the lifecycle that moves it between them. The store, the
// worker pool, the HTTP server, the client and the contract suite all speak
// these types; none of them defines its own.
//
// The status names come from the spec through the generated code, so a
// vendor rename shows up here at compile time, not as a silent mismatch.
package task

import (
	"errors"
	"fmt"
	"time"

	"github.com/distributeai/asyncspeech/generated"
)

// Status is a task's lifecycle state. The values are the vendor's.
type Status string

// The seven statuses of the vendor's contract, derived from the generated enum.
const (
	// StatusCreated: accepted and durably written, not yet admitted to the queue.
	StatusCreated = Status(generated.AsyncSpeechResult200JSONResponseBodyStatusCREATED)
	// StatusQueued: admitted to the queue, waiting for a worker.
	StatusQueued = Status(generated.AsyncSpeechResult200JSONResponseBodyStatusQUEUED)
	// StatusPostponed: the engine was unavailable or overloaded; retried after a backoff.
	StatusPostponed = Status(generated.AsyncSpeechResult200JSONResponseBodyStatusPOSTPONED)
	// StatusAssigned: claimed by a worker, under a lease.
	StatusAssigned = Status(generated.AsyncSpeechResult200JSONResponseBodyStatusASSIGNEDCONNECTIONS)
	// StatusProcessing: the engine is running.
	StatusProcessing = Status(generated.AsyncSpeechResult200JSONResponseBodyStatusPROCESSING)
	// StatusCompleted: results stored, finished set. Terminal.
	StatusCompleted = Status(generated.AsyncSpeechResult200JSONResponseBodyStatusCOMPLETED)
	// StatusError: failed for good, finished set, no results. Terminal.
	StatusError = Status(generated.AsyncSpeechResult200JSONResponseBodyStatusERROR)
)

// AllStatuses returns every status in lifecycle order. Each call returns a
// new slice, so a caller that changes it changes no one else's.
func AllStatuses() []Status {
	return []Status{StatusCreated, StatusQueued, StatusPostponed, StatusAssigned, StatusProcessing, StatusCompleted, StatusError}
}

// transitions is the lifecycle state machine: the only moves a store accepts.
// A lease that expires sends ASSIGNED_CONNECTIONS or PROCESSING back to QUEUED.
var transitions = map[Status][]Status{
	StatusCreated:    {StatusQueued, StatusError},
	StatusQueued:     {StatusAssigned, StatusError},
	StatusPostponed:  {StatusQueued, StatusError},
	StatusAssigned:   {StatusProcessing, StatusQueued, StatusError},
	StatusProcessing: {StatusCompleted, StatusError, StatusPostponed, StatusQueued},
	StatusCompleted:  nil,
	StatusError:      nil,
}

// CanTransition reports whether the lifecycle allows moving from one status
// to another.
func CanTransition(from, to Status) bool {
	for _, s := range transitions[from] {
		if s == to {
			return true
		}
	}
	return false
}

// Terminal reports whether s is a final status (COMPLETED or ERROR).
func (s Status) Terminal() bool { return s == StatusCompleted || s == StatusError }

// Valid reports whether s is one of the seven statuses.
func (s Status) Valid() bool {
	_, ok := transitions[s]
	return ok
}

// Leased reports whether s is held by a worker under a lease
// (ASSIGNED_CONNECTIONS or PROCESSING).
func (s Status) Leased() bool { return s == StatusAssigned || s == StatusProcessing }

// Params are the synthesis parameters of a task, with defaults applied.
type Params struct {
	Input        string  `json:"input"`
	Voice        string  `json:"voice"`
	Stream       bool    `json:"stream"`
	Temperature  float64 `json:"temperature"`
	Exaggeration float64 `json:"exaggeration"`
	CfgWeight    float64 `json:"cfg_weight"`
}

// Task is one speech generation task.
type Task struct {
	ID      string // UUIDv4
	Owner   string // opaque identity of the API key that created it (never the key itself)
	Model   string
	Params  Params
	Status  Status
	Created time.Time
	// Finished is zero until the task reaches a terminal status.
	Finished time.Time
	// Attempts counts claims by a worker; it bounds retries.
	Attempts int
	// NotBefore holds a POSTPONED task back until this time.
	NotBefore time.Time
	// LeaseOwner and LeaseUntil describe the worker lease while ASSIGNED_CONNECTIONS or PROCESSING.
	LeaseOwner string
	LeaseUntil time.Time
	// Results holds one entry per stored audio file of a COMPLETED task.
	Results []Result
	// Reason is the internal cause of ERROR or POSTPONED; it never reaches API users.
	Reason string
}

// Result describes one stored audio file of a task.
type Result struct {
	Index       int
	ContentType string
	Size        int64
}

// ErrIllegalTransition: the lifecycle does not allow the requested move.
var ErrIllegalTransition = errors.New("illegal status transition")

// TransitionError reports a refused lifecycle move; it matches ErrIllegalTransition.
type TransitionError struct {
	ID       string
	From, To Status
}

// Error names the task and the refused move, e.g. "task <id>: illegal
// transition COMPLETED -> QUEUED".
func (e *TransitionError) Error() string {
	return fmt.Sprintf("task %s: illegal transition %s -> %s", e.ID, e.From, e.To)
}

// Is makes errors.Is(err, ErrIllegalTransition) true.
func (e *TransitionError) Is(target error) bool { return target == ErrIllegalTransition }
