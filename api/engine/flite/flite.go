// Package flite produces speech by running Debian's flite program (CMU
// Flite), the most intelligible offline male voice measured on this project
// (rms, WER 0.25 in BENCHMARKS.md).
//
// flite runs as a separate process through api/engine/internal/child: the
// text goes in on stdin (flite -f /dev/stdin), never on the command line, and
// the WAV comes back in a private temporary file, because flite cannot write
// a WAV to a pipe. Long text is synthesised one group of sentences at a time
// so an audio cap stops it early.
package flite

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/distributeai/asyncspeech/api/engine"
	"github.com/distributeai/asyncspeech/api/engine/internal/child"
	"github.com/distributeai/asyncspeech/api/engine/internal/sentences"
)

// Defaults for Options fields left zero.
const (
	DefaultBinary  = "flite"
	DefaultTimeout = 60 * time.Second
	// ChunkBytes is the most text one flite run reads: about a minute of
	// audio, so a cap overshoots by at most that much.
	ChunkBytes = 1000
)

// VoiceFor maps the API's built-in voices to flite voices: leo is rms
// (male), nora is slt (female). An empty name is the API default, leo.
func VoiceFor(name string) (string, bool) {
	switch name {
	case "", "leo":
		return "rms", true
	case "nora":
		return "slt", true
	}
	return "", false
}

// ErrUnknownVoice is a permanent error: flite renders only the built-in voices.
var ErrUnknownVoice = errors.New("voice not available in flite")

// Options configure the flite engine.
type Options struct {
	// Binary is the program to run, a name looked up on PATH or a path.
	Binary string
	// Timeout bounds one run of the program; a run that exceeds it is killed.
	Timeout time.Duration
	// MaxConcurrent bounds simultaneous syntheses (default: number of CPUs).
	MaxConcurrent int
	// Getenv reads the environment the child's PATH and locale come from
	// (nil: os.Getenv); nothing else is passed on.
	Getenv func(string) string
	// Nice lowers the program's CPU priority below the server's, 0 to
	// engine.MaxNice (0: as the server's); see engine.StartNiced.
	Nice int
}

// Engine runs flite. It is safe for concurrent use.
type Engine struct {
	prog child.Program
}

var _ engine.Engine = (*Engine)(nil)

// New finds the flite program; it fails when the program is not found.
func New(opts Options) (*Engine, error) {
	prog, err := child.Find(child.Want{Engine: "flite", Binary: opts.Binary, DefaultBinary: DefaultBinary,
		Timeout: opts.Timeout, DefaultTimeout: DefaultTimeout, MaxConcurrent: opts.MaxConcurrent, Getenv: opts.Getenv, Nice: opts.Nice})
	if err != nil {
		return nil, err
	}
	return &Engine{prog: prog}, nil
}

// Name is "flite".
func (e *Engine) Name() string { return "flite" }

// Path is the program the engine runs.
func (e *Engine) Path() string { return e.prog.Path }

// Prosody is how a request's sampling parameters are rendered by flite.
type Prosody struct {
	// DurationStretch is flite's duration_stretch, 1 the voice's own rate:
	// cfg_weight 0.5 (the API default) is 1, 0 is 1/0.7 (slower), 1 is
	// 1/1.3 (faster). As with Chatterbox, lower cfg_weight, slower speech.
	DurationStretch float64
	// Gain multiplies the samples: exaggeration 0.5 (default) is 1, 0 is
	// 0.6, 1 is 1.4 (clipped at full scale). More exaggeration, more emphasis.
	Gain float64
	// temperature has nothing to act on: flite 2.2's rms voice ignores its
	// intonation features (int_f0_target_*, f0_shift were measured to leave
	// the audio bit-identical), so it is not mapped.
}

// ProsodyFor maps a request's exaggeration and cfg_weight (each 0–1; values
// outside are clamped) to flite prosody. The API defaults give the voice's
// own settings, so they cost no intelligibility.
func ProsodyFor(req engine.Request) Prosody {
	return Prosody{
		DurationStretch: 1 / engine.SpeedFor(req.CfgWeight),
		Gain:            engine.GainFor(req.Exaggeration),
	}
}

func args(voice string, p Prosody) []string {
	a := []string{"-voice", voice, "-f", "/dev/stdin", "-o", child.OutFile}
	if p.DurationStretch != 1 {
		a = append(a, "--setf", "duration_stretch="+strconv.FormatFloat(p.DurationStretch, 'f', 3, 64))
	}
	return a
}

// Synthesize runs flite once per group of sentences and joins the audio.
// Errors are classified as in child.Run; an unknown voice is permanent.
func (e *Engine) Synthesize(ctx context.Context, req engine.Request) (engine.Audio, error) {
	voice, ok := VoiceFor(req.Voice)
	if !ok {
		return engine.Audio{}, fmt.Errorf("flite: voice %q: %w (built-in voices: leo, nora)", req.Voice, ErrUnknownVoice)
	}
	release, err := e.prog.Slots.Acquire(ctx, "flite")
	if err != nil {
		return engine.Audio{}, err
	}
	defer release()
	p := ProsodyFor(req)
	chunks := sentences.Split(engine.SanitizeText(req.Text), ChunkBytes)
	if len(chunks) == 0 { // nothing to say: no run, no audio
		return engine.Audio{ContentType: "audio/wav", Data: engine.EncodeWAV(16000, nil)}, nil
	}
	pcm, err := child.Chunked(ctx, "flite", chunks, req.MaxAudio, func(ctx context.Context, chunk string) ([]byte, error) {
		return child.Run(ctx, child.Spec{Engine: "flite", Path: e.prog.Path, Args: args(voice, p), Stdin: chunk, Timeout: e.prog.Timeout, Getenv: e.prog.Getenv, Nice: e.prog.Nice})
	})
	if err != nil {
		return engine.Audio{}, fmt.Errorf("flite voice %s, %d characters: %w", voice, len([]rune(req.Text)), err)
	}
	pcm.Gain(p.Gain)
	return engine.Audio{ContentType: "audio/wav", Data: pcm.WAV()}, nil
}
