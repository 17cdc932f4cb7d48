// Package engine defines the speech engine interface that workers call to
// turn text into audio. Implementations live in subpackages: espeak (real
// speech through Debian's espeak-ng), openai (any OpenAI-compatible
// /v1/audio/speech server) and tone (a pure-Go test engine that writes a
// tone, not speech).
package engine

import (
	"context"
	"errors"
	"fmt"
	"time"
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
	// MaxAudio is the longest audio this run may produce (0: no limit). An
	// engine stops producing audio past it, rather than producing it all
	// first, and returns an error wrapping ErrAudioTooLong.
	MaxAudio time.Duration
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

// ErrAudioTooLong marks a run whose audio would exceed Request.MaxAudio: a
// permanent failure (the same text would be as long the next time).
var ErrAudioTooLong = errors.New("audio longer than the limit")

// CheckDuration returns an error wrapping ErrAudioTooLong when audio is a
// WAV longer than max (max 0: no limit). The worker applies it to every
// engine's output, so a limit holds even for an engine that cannot stop
// early; audio it cannot measure (not a WAV) passes.
func CheckDuration(audio Audio, max time.Duration) error {
	if max <= 0 {
		return nil
	}
	info, err := ParseWAV(audio.Data)
	if err != nil {
		return nil
	}
	if d := info.Duration(); d > max {
		return fmt.Errorf("%v of audio, over the %v limit: %w", d.Round(time.Millisecond), max, ErrAudioTooLong)
	}
	return nil
}
