// Package espeak produces real speech by running Debian's espeak-ng program.
//
// espeak-ng runs as a separate process (os/exec, no shell, through
// api/engine/internal/child): the text goes in on stdin, never on the command
// line, and a WAV comes back on stdout. Each run has a timeout, a minimal
// environment and an optional audio cap, and the number of concurrent runs
// is bounded.
package espeak

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/distributeai/asyncspeech/api/engine"
	"github.com/distributeai/asyncspeech/api/engine/internal/child"
)

// Defaults for Options fields left zero.
const (
	DefaultBinary  = "espeak-ng"
	DefaultTimeout = 60 * time.Second
)

// VoiceFor maps the API's built-in voices to espeak-ng voice+variant names:
// the American English voice with its male3 and female3 variants (listed by
// `espeak-ng --voices=variant`). An empty name is the API default, leo.
func VoiceFor(name string) (string, bool) {
	switch name {
	case "", "leo":
		return "en-us+m3", true
	case "nora":
		return "en-us+f3", true
	}
	return "", false
}

// ErrUnknownVoice is a permanent error: espeak-ng cannot render uploaded
// voices, only the built-in ones of VoiceFor.
var ErrUnknownVoice = errors.New("voice not available in espeak-ng")

// Options configure the espeak engine.
type Options struct {
	// Binary is the program to run, a name looked up on PATH or a path.
	Binary string
	// Timeout bounds one run; a run that exceeds it is killed.
	Timeout time.Duration
	// MaxConcurrent bounds simultaneous runs (default: number of CPUs).
	MaxConcurrent int
	// Getenv reads the environment the child's PATH and locale come from
	// (nil: os.Getenv); nothing else is passed on.
	Getenv func(string) string
	// Nice lowers the program's CPU priority below the server's, 0 to
	// engine.MaxNice (0: as the server's); see engine.StartNiced.
	Nice int
}

// Engine runs espeak-ng. It is safe for concurrent use.
type Engine struct {
	prog child.Program
}

var _ engine.Engine = (*Engine)(nil)

// New finds the espeak-ng program and returns an engine that runs it. It
// fails when the program is not found.
func New(opts Options) (*Engine, error) {
	prog, err := child.Find(child.Want{Engine: "espeak", Binary: opts.Binary, DefaultBinary: DefaultBinary,
		Timeout: opts.Timeout, DefaultTimeout: DefaultTimeout, MaxConcurrent: opts.MaxConcurrent, Getenv: opts.Getenv, Nice: opts.Nice})
	if err != nil {
		return nil, err
	}
	return &Engine{prog: prog}, nil
}

// Name is "espeak".
func (e *Engine) Name() string { return "espeak" }

// Path is the program the engine runs.
func (e *Engine) Path() string { return e.prog.Path }

// Prosody is how a request's sampling parameters, which mean something to a
// neural model like Chatterbox, are rendered by espeak-ng's formant synthesis.
type Prosody struct {
	// PitchRange is the SSML <prosody range> in percent of the voice's normal
	// range: temperature 0.8 (the API default) is 100 %, 0 is a monotone,
	// 1 is 125 %. More temperature, more varied intonation.
	PitchRange int
	// Amplitude is espeak-ng -a (0–200, espeak default 100): exaggeration 0.5
	// (default) is 100, 0 is 60, 1 is 140. More exaggeration, more emphasis.
	Amplitude int
	// Speed is espeak-ng -s in words per minute: cfg_weight 0.5 (the API
	// default) is 150, a conversational rate a little slower than espeak's
	// own brisk 175; 0 is 105, 1 is 195. As with Chatterbox, a lower
	// cfg_weight gives slower, more deliberate speech.
	Speed int
}

// ProsodyFor maps a request's temperature, exaggeration and cfg_weight (each
// 0–1; values outside are clamped) to espeak-ng prosody.
func ProsodyFor(req engine.Request) Prosody {
	return Prosody{
		PitchRange: int(math.Round(125 * engine.Clamp01(req.Temperature))),
		// The gain rule of engine.GainFor on espeak's 0–200 scale, in the
		// arithmetic that rounds exactly as before at half-points.
		Amplitude: int(math.Round(100 + 80*(engine.Clamp01(req.Exaggeration)-0.5))),
		Speed:     int(math.Round(150 * engine.SpeedFor(req.CfgWeight))),
	}
}

// args is the command line of one run; the text itself goes on stdin.
func args(voice string, p Prosody) []string {
	return []string{
		"--stdin", "--stdout", "-m", // read all of stdin, WAV on stdout, SSML input
		"-v", voice,
		"-a", strconv.Itoa(p.Amplitude),
		"-s", strconv.Itoa(p.Speed),
	}
}

// ssml wraps text in the prosody element; the text is XML-escaped so that
// markup in user input is spoken as text, never interpreted, and "[[" —
// espeak-ng's opening of phoneme input, which also crashes espeak-ng 1.51
// on long input — is written "[ [", so it reads as two brackets.
func ssml(text string, p Prosody) string {
	var b strings.Builder
	fmt.Fprintf(&b, `<speak><prosody range="%d%%">`, p.PitchRange)
	prev := rune(0)
	for _, r := range text {
		if r == '[' && prev == '[' {
			b.WriteByte(' ')
		}
		prev = r
		switch r {
		case '<':
			b.WriteString("&lt;")
		case '>':
			b.WriteString("&gt;")
		case '&':
			b.WriteString("&amp;")
		case '"':
			b.WriteString("&quot;")
		case '\'':
			b.WriteString("&apos;")
		default:
			b.WriteRune(r)
		}
	}
	b.WriteString("</prosody></speak>")
	return b.String()
}

// Synthesize runs espeak-ng once through child.Run: the text, with the
// control characters espeak-ng would read as commands removed
// (engine.SanitizeText), goes in on stdin, in a minimal environment. A
// missing program, a run killed by the timeout or a signal, or a context that
// ends while waiting for a slot are transient (engine.ErrUnavailable); an
// unknown voice, a run that exits with an error or output that is not a WAV
// are permanent; audio past req.MaxAudio stops the run with
// engine.ErrAudioTooLong.
func (e *Engine) Synthesize(ctx context.Context, req engine.Request) (engine.Audio, error) {
	voice, ok := VoiceFor(req.Voice)
	if !ok {
		return engine.Audio{}, fmt.Errorf("espeak: voice %q: %w (built-in voices: leo, nora)", req.Voice, ErrUnknownVoice)
	}
	release, err := e.prog.Slots.Acquire(ctx, "espeak")
	if err != nil {
		return engine.Audio{}, err
	}
	defer release()
	p := ProsodyFor(req)
	out, err := child.Run(ctx, child.Spec{
		Engine: "espeak", Path: e.prog.Path, Args: args(voice, p),
		Stdin:    ssml(engine.SanitizeText(req.Text), p),
		Timeout:  e.prog.Timeout,
		MaxAudio: req.MaxAudio,
		Getenv:   e.prog.Getenv,
		Nice:     e.prog.Nice,
	})
	if err != nil {
		return engine.Audio{}, fmt.Errorf("espeak voice %s: %w", voice, err)
	}
	wav, err := patchStreamedWAV(out)
	if err != nil {
		return engine.Audio{}, fmt.Errorf("espeak: output of %s with voice %s for %d characters: %w", e.prog.Path, voice, len(req.Text), err)
	}
	return engine.Audio{ContentType: "audio/wav", Data: wav}, nil
}

// patchStreamedWAV fixes the RIFF and data sizes that espeak-ng --stdout
// writes as placeholders (0x7ffff024 / 0x7ffff000, since it cannot seek back
// on a pipe), so players and ParseWAV see the real length. It expects the
// data chunk to run to the end of the output, as espeak-ng writes it.
func patchStreamedWAV(b []byte) ([]byte, error) {
	if len(b) < 12 || string(b[0:4]) != "RIFF" || string(b[8:12]) != "WAVE" {
		return nil, fmt.Errorf("%w: missing RIFF/WAVE signature in %d bytes", engine.ErrNotWAV, len(b))
	}
	for off := 12; off+8 <= len(b); {
		id := string(b[off : off+4])
		size := int64(binary.LittleEndian.Uint32(b[off+4 : off+8]))
		if id == "data" {
			binary.LittleEndian.PutUint32(b[off+4:off+8], uint32(len(b)-off-8))
			binary.LittleEndian.PutUint32(b[4:8], uint32(len(b)-8))
			if _, err := engine.ParseWAV(b); err != nil {
				return nil, err
			}
			return b, nil
		}
		off += 8 + int(size) + int(size%2)
		if int64(off) > int64(len(b)) || off < 0 {
			break
		}
	}
	return nil, fmt.Errorf("%w: no data chunk in %d bytes", engine.ErrNotWAV, len(b))
}
