package client

import (
	"encoding/json"
	"math"
	"time"

	"github.com/distributeai/asyncspeech/api/task"

	"github.com/distributeai/asyncspeech/generated"
)

// Status is a task's lifecycle state, as the server reports it: the
// domain's type, so client code and server code compare the same values.
type Status = task.Status

// The statuses of the vendor's contract, as package task defines them. A
// server may add statuses in the future; Wait treats any status it does not
// know as "still running".
const (
	StatusCreated    = task.StatusCreated
	StatusQueued     = task.StatusQueued
	StatusPostponed  = task.StatusPostponed
	StatusAssigned   = task.StatusAssigned
	StatusProcessing = task.StatusProcessing
	StatusCompleted  = task.StatusCompleted
	StatusError      = task.StatusError
)

// Model names a speech model accepted by the create call.
type Model string

// ModelChatterbox is the only model of the vendor's contract, and the default.
const ModelChatterbox Model = "Chatterbox"

// The vendor's built-in voices. Any other string is passed through as a
// file_id of an uploaded voice.
const (
	VoiceLeo  = "leo"
	VoiceNora = "nora"
)

// Task is a speech task as the result call reports it.
type Task struct {
	ID     string `json:"id"`
	Status Status `json:"status"`
	Model  string `json:"model"`
	// Created is when the server accepted the task. Task's JSON (see
	// MarshalJSON) has both times in UTC to the millisecond.
	Created time.Time `json:"created"`
	// Finished is zero until the task reaches COMPLETED or ERROR.
	Finished time.Time `json:"finished,omitzero"`
	// Results holds one entry per audio file of a COMPLETED task, in order.
	Results []Result `json:"results"`
	// Extra holds the fields of the answer this client does not model
	// (a vendor may add some before the module is regenerated), raw as
	// received; nil when there are none.
	Extra map[string]json.RawMessage `json:"extra,omitempty"`
}

// jsonTime is the layout of Task's JSON times: UTC with exactly three
// fractional digits, since servers send milliseconds and a fixed width lets
// scripts compare and cut times as strings.
const jsonTime = "2006-01-02T15:04:05.000Z07:00"

// MarshalJSON writes Created and Finished as 2026-11-24T14:05:55.420Z
// (rounded to the millisecond, left out while zero) and Results as an
// array even when there are none. encoding/json reads the output back into
// a Task unchanged, up to that rounding.
func (t Task) MarshalJSON() ([]byte, error) {
	out := struct {
		ID       string   `json:"id"`
		Status   Status   `json:"status"`
		Model    string   `json:"model"`
		Created  string   `json:"created,omitempty"`
		Finished string   `json:"finished,omitempty"`
		Results  []Result `json:"results"`
	}{ID: t.ID, Status: t.Status, Model: t.Model, Results: t.Results}
	if !t.Created.IsZero() {
		out.Created = t.Created.UTC().Round(time.Millisecond).Format(jsonTime)
	}
	if !t.Finished.IsZero() {
		out.Finished = t.Finished.UTC().Round(time.Millisecond).Format(jsonTime)
	}
	if out.Results == nil {
		out.Results = []Result{}
	}
	return marshalWithExtra(out, t.Extra)
}

// Result is one audio file of a completed task.
type Result struct {
	// URL is a capability link: whoever holds it may fetch the file until it
	// expires, without an API key.
	URL string `json:"url"`
}

// URLs returns the result URLs of t in order.
func (t *Task) URLs() []string {
	urls := make([]string, 0, len(t.Results))
	for _, r := range t.Results {
		urls = append(urls, r.URL)
	}
	return urls
}

// msThreshold separates the two units a server may use for Unix times: 1e11
// seconds is the year 5138, while 1e11 milliseconds is March 1973, so any
// plausible time above it must be milliseconds.
const msThreshold = 1e11

// TimeFromUnix converts a Unix time from the API to a time.Time. The vendor
// does not state the unit of created/finished, so both are accepted: a value
// above 1e11 is read as milliseconds, anything else as seconds (fractions
// allowed). The result is rounded to the microsecond, the precision a
// float64 keeps for present-day times in seconds. Zero, negative and
// non-finite values give the zero time.
func TimeFromUnix(v float64) time.Time {
	if !(v > 0) || math.IsInf(v, 0) {
		return time.Time{}
	}
	micros := v * 1e6
	if v > msThreshold {
		micros = v * 1e3
	}
	if micros >= math.MaxInt64 {
		return time.Time{}
	}
	return time.UnixMicro(int64(math.Round(micros)))
}

// taskFromGenerated converts the generated 200 body of the result call.
func taskFromGenerated(b *generated.AsyncSpeechResult200JSONResponseBody) *Task {
	t := &Task{
		ID:      b.Id,
		Status:  Status(b.Status),
		Model:   b.Model,
		Created: TimeFromUnix(b.Created),
		Results: make([]Result, 0, len(b.Results)),
	}
	if b.Finished != nil {
		t.Finished = TimeFromUnix(*b.Finished)
	}
	for _, r := range b.Results {
		if r.Url != nil {
			t.Results = append(t.Results, Result{URL: *r.Url})
		}
	}
	return t
}
