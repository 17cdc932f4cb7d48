// Package tone is a pure-Go TEST and FALLBACK engine: it does not speak. It
// writes a valid 16-bit mono PCM WAV of sine beeps, one per character, so the
// audio's length follows the text and its pitch follows the voice. It exists
// for tests, load tests and machines without espeak-ng; it names itself
// "tone" everywhere so nobody mistakes its output for speech.
package tone

import (
	"context"
	"fmt"
	"hash/fnv"
	"math"
	"time"
	"unicode"

	"github.com/distributeai/asyncspeech/api/engine"
)

// Defaults for Options fields left zero.
const (
	DefaultSampleRate  = 16000
	DefaultPerChar     = 60 * time.Millisecond
	DefaultMinDuration = 100 * time.Millisecond
	DefaultMaxDuration = 15 * time.Second
)

// Options configure the tone engine. Zero values take the defaults above.
type Options struct {
	// Delay is added to every synthesis, to model a slow engine in load tests.
	// It is zero by default; the wait ends early when the context ends.
	Delay time.Duration
	// SampleRate of the WAV in Hz.
	SampleRate int
	// PerChar is the audio length per character of text.
	PerChar time.Duration
	// MinDuration and MaxDuration bound the audio length whatever the text,
	// so a 4 096-character input cannot produce minutes of audio.
	MinDuration, MaxDuration time.Duration
}

// Engine is the tone engine. It is safe for concurrent use.
type Engine struct {
	opts Options
}

var _ engine.Engine = (*Engine)(nil)

// New returns a tone engine with opts' zero fields defaulted.
func New(opts Options) *Engine {
	if opts.SampleRate <= 0 {
		opts.SampleRate = DefaultSampleRate
	}
	if opts.PerChar <= 0 {
		opts.PerChar = DefaultPerChar
	}
	if opts.MinDuration <= 0 {
		opts.MinDuration = DefaultMinDuration
	}
	if opts.MaxDuration <= 0 {
		opts.MaxDuration = DefaultMaxDuration
	}
	if opts.MaxDuration < opts.MinDuration {
		opts.MaxDuration = opts.MinDuration
	}
	return &Engine{opts: opts}
}

// Name is "tone": logs, /readyz and metrics must show that no speech engine runs.
func (e *Engine) Name() string { return "tone" }

// Duration is the audio length the engine produces for text.
func (e *Engine) Duration(text string) time.Duration {
	n := len([]rune(text))
	d := time.Duration(n) * e.opts.PerChar
	return min(max(d, e.opts.MinDuration), e.opts.MaxDuration)
}

// Pitch is the tone frequency in Hz for a voice: leo is low, nora high, and
// any other voice id gets a stable pitch of its own between 150 and 350 Hz.
func Pitch(voice string) float64 {
	switch voice {
	case "", "leo":
		return 120
	case "nora":
		return 220
	}
	h := fnv.New32a()
	h.Write([]byte(voice))
	return 150 + float64(h.Sum32()%201)
}

// Synthesize writes one beep per character (silence for spaces) at the
// voice's pitch. It never fails except when ctx ends during Delay.
func (e *Engine) Synthesize(ctx context.Context, req engine.Request) (engine.Audio, error) {
	if e.opts.Delay > 0 {
		t := time.NewTimer(e.opts.Delay)
		defer t.Stop()
		select {
		case <-t.C:
		case <-ctx.Done():
			return engine.Audio{}, fmt.Errorf("tone: waiting out delay %v: %w: %w", e.opts.Delay, engine.ErrUnavailable, ctx.Err())
		}
	}
	if err := ctx.Err(); err != nil {
		return engine.Audio{}, fmt.Errorf("tone: %w: %w", engine.ErrUnavailable, err)
	}
	return engine.Audio{ContentType: "audio/wav", Data: engine.EncodeWAV(e.opts.SampleRate, e.samples(req))}, nil
}

func (e *Engine) samples(req engine.Request) []int16 {
	rate := e.opts.SampleRate
	total := int(int64(e.Duration(req.Text)) * int64(rate) / int64(time.Second))
	out := make([]int16, total)
	runes := []rune(req.Text)
	if len(runes) == 0 {
		return out // silence of MinDuration
	}
	perChar := float64(total) / float64(len(runes))
	fade := float64(rate) * 0.005 // 5 ms ramps avoid clicks between beeps
	step := 2 * math.Pi * Pitch(req.Voice) / float64(rate)
	const amplitude = 0.3 * math.MaxInt16
	for i := range out {
		c := int(float64(i) / perChar)
		if c >= len(runes) {
			c = len(runes) - 1
		}
		if unicode.IsSpace(runes[c]) {
			continue
		}
		pos := float64(i) - float64(c)*perChar
		env := min(1, pos/fade, (perChar-pos)/fade)
		out[i] = int16(amplitude * max(env, 0) * math.Sin(step*float64(i)))
	}
	return out
}
