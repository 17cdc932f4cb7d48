// Package engine defines the speech engine interface that workers call to
// turn text into audio. Implementations live in subpackages: espeak (real
// speech through Debian's espeak-ng), openai (any OpenAI-compatible
// /v1/audio/speech server) and tone (a pure-Go test engine that writes a
// tone, not speech).
package engine

import (
	"context"
	"errors"
)

// Request is one synthesis job, with the task's defaults already applied.
type Request struct {
	// TaskID is the task this run is for: engines that keep per-task state
	// (a scripted test engine, a vendor that deduplicates) key it on this.
	TaskID       string
	Text         string
	Voice        string // "leo", "nora", or an uploaded voice id
	Temperature  float64
	Exaggeration float64
	CfgWeight    float64
}

// Audio is the engine's output.
type Audio struct {
	ContentType string // e.g. "audio/wav"
	Data        []byte
}

// Engine synthesizes speech.
type Engine interface {
	// Name identifies the engine in logs, /readyz and metrics.
	Name() string
	// Synthesize produces audio for req. An error wrapping ErrUnavailable is
	// transient (the task is POSTPONED and retried); any other error is
	// permanent (the task ends in ERROR).
	Synthesize(ctx context.Context, req Request) (Audio, error)
}

// ErrUnavailable marks a transient failure: the engine is down or overloaded.
var ErrUnavailable = errors.New("speech engine unavailable")
