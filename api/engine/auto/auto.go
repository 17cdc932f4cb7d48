// Package auto builds the speech engine named by speechd's --engine flag:
// auto, espeak, tone or openai. "auto" means real speech when this machine
// can make it (espeak-ng on PATH) and the tone test engine otherwise.
package auto

import (
	"fmt"
	"os/exec"
	"strings"

	"github.com/distributeai/asyncspeech/api/engine"
	"github.com/distributeai/asyncspeech/api/engine/espeak"
	"github.com/distributeai/asyncspeech/api/engine/openai"
	"github.com/distributeai/asyncspeech/api/engine/tone"
)

// Engine names accepted by New.
const (
	Auto   = "auto"
	Espeak = "espeak"
	Tone   = "tone"
	OpenAI = "openai"
)

// Names lists the accepted engine names, for flag help and errors.
func Names() []string { return []string{Auto, Espeak, Tone, OpenAI} }

// Options hold each engine's options; only the chosen engine's are used.
type Options struct {
	Espeak espeak.Options
	Tone   tone.Options
	OpenAI openai.Options
	// LookPath finds a program on PATH (default exec.LookPath); tests inject it.
	LookPath func(file string) (string, error)
}

// Choice is the outcome of resolving an engine name.
type Choice struct {
	// Name is the concrete engine: espeak, tone or openai.
	Name string
	// Path is the espeak-ng program when Name is espeak.
	Path string
	// Reason says why, for the start-up log line.
	Reason string
}

// Resolve decides which engine name selects, without building it. An
// explicit "espeak" fails when espeak-ng is missing rather than quietly
// degrading to tone; only "auto" falls back.
func Resolve(name string, opts Options) (Choice, error) {
	lookPath := opts.LookPath
	if lookPath == nil {
		lookPath = exec.LookPath
	}
	binary := opts.Espeak.Binary
	if binary == "" {
		binary = espeak.DefaultBinary
	}
	switch n := strings.ToLower(strings.TrimSpace(name)); n {
	case Auto, "":
		path, err := lookPath(binary)
		if err != nil {
			return Choice{Name: Tone, Reason: fmt.Sprintf("auto: %s not found (%v), using the tone TEST engine, which beeps instead of speaking", binary, err)}, nil
		}
		return Choice{Name: Espeak, Path: path, Reason: fmt.Sprintf("auto: using espeak (%s)", path)}, nil
	case Espeak:
		path, err := lookPath(binary)
		if err != nil {
			return Choice{}, fmt.Errorf("engine espeak: %s not found: %w (install espeak-ng, or choose --engine auto or tone)", binary, err)
		}
		return Choice{Name: Espeak, Path: path, Reason: fmt.Sprintf("using espeak (%s)", path)}, nil
	case Tone:
		return Choice{Name: Tone, Reason: "using the tone TEST engine, which beeps instead of speaking"}, nil
	case OpenAI:
		return Choice{Name: OpenAI, Reason: fmt.Sprintf("using openai at %s", opts.OpenAI.BaseURL)}, nil
	default:
		return Choice{}, fmt.Errorf("engine %q: unknown, want one of %s", name, strings.Join(Names(), ", "))
	}
}

// New builds the engine that name selects; its Name() says which one runs.
func New(name string, opts Options) (engine.Engine, error) {
	c, err := Resolve(name, opts)
	if err != nil {
		return nil, err
	}
	switch c.Name {
	case Espeak:
		o := opts.Espeak
		o.Binary = c.Path
		return espeak.New(o)
	case OpenAI:
		return openai.New(opts.OpenAI)
	default:
		return tone.New(opts.Tone), nil
	}
}
