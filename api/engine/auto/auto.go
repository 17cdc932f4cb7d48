// Package auto builds the speech engine named by speechd's --engine flag:
// auto, flite, festival, espeak, tone or openai.
//
// "auto" chooses per built-in voice the most intelligible engine installed,
// in the order measured in BENCHMARKS.md (word error rate of a recogniser
// listening to the audio):
//
//	leo  (male):   festival cmu_us_slt_arctic_hts lowered (festival.LeoLower)
//	               → flite rms → festival kal_diphone → espeak-ng en-us+m3 → tone
//	nora (female): festival cmu_us_slt_arctic_hts → flite slt → espeak-ng en-us+f3 → tone
//
// festival appears twice for leo because what it renders depends on the
// voices installed (festival.Installed.Rendering): the lowered HTS voice is the
// best leo measured, kal_diphone, used only without it, ranks below flite.
//
// Uploaded voices go to leo's engine, which refuses them as it always has.
package auto

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"strings"
	"sync"

	"github.com/distributeai/asyncspeech/api/engine"
	"github.com/distributeai/asyncspeech/api/engine/espeak"
	"github.com/distributeai/asyncspeech/api/engine/festival"
	"github.com/distributeai/asyncspeech/api/engine/flite"
	"github.com/distributeai/asyncspeech/api/engine/openai"
	"github.com/distributeai/asyncspeech/api/engine/tone"
)

// Engine names accepted by New.
const (
	Auto     = "auto"
	Flite    = "flite"
	Festival = "festival"
	Espeak   = "espeak"
	Tone     = "tone"
	OpenAI   = "openai"
)

// Names lists the accepted engine names, for flag help and errors.
func Names() []string { return []string{Auto, Flite, Festival, Espeak, Tone, OpenAI} }

// Voices are the built-in voices auto chooses an engine for.
var voices = [...]string{"leo", "nora"}

// Options hold each engine's options; only the chosen engines' are used.
type Options struct {
	Flite    flite.Options
	Festival festival.Options
	Espeak   espeak.Options
	Tone     tone.Options
	OpenAI   openai.Options
	// LookPath finds a program on PATH (default exec.LookPath); tests inject it.
	LookPath func(file string) (string, error)
}

// Choice is the outcome of resolving an engine name.
type Choice struct {
	// Name is the engine that runs: one concrete engine's name, or for auto
	// with different engines per voice their names joined by "+" in voice
	// order (e.g. "festival+espeak").
	Name string
	// Voices maps each built-in voice to the concrete engine that renders it.
	Voices map[string]string
	// Paths maps each program-backed engine chosen to its program.
	Paths map[string]string
	// Reason says what was chosen and why, for the start-up log line.
	Reason string
	// Degraded is true when a voice fell back to espeak or the tone test
	// engine: the log line should be a warning.
	Degraded bool
}

type finder struct {
	opts     Options
	lookPath func(string) (string, error)
	// festivalVoices are the festival voices installed, looked for at most
	// once per Resolve and only if festival's voices are asked about.
	festivalVoices func() festival.Installed
}

func (f finder) have(name string) (string, bool) {
	bin := map[string]string{Flite: f.opts.Flite.Binary, Festival: f.opts.Festival.Binary, Espeak: f.opts.Espeak.Binary}[name]
	if bin == "" {
		bin = map[string]string{Flite: flite.DefaultBinary, Festival: festival.DefaultBinary, Espeak: espeak.DefaultBinary}[name]
	}
	path, err := f.lookPath(bin)
	return path, err == nil
}

// candidate is one step of auto's order: an engine, and for festival the
// festival voice its rendering of the API voice must use.
type candidate struct {
	engine        string
	festivalVoice string
}

// usable says whether the candidate can render voice on this machine.
func (f finder) usable(c candidate, voice string) bool {
	if _, ok := f.have(c.engine); !ok {
		return false
	}
	if c.engine == Festival {
		installed := f.festivalVoices()
		r, _ := installed.Rendering(voice)
		return r.Voice == c.festivalVoice && installed.Has(r.Voice)
	}
	return true
}

// preference is auto's order per voice, most intelligible first.
func preference(voice string) []candidate {
	if voice == "nora" {
		return []candidate{{Festival, festival.VoiceSLT}, {Flite, ""}, {Espeak, ""}}
	}
	return []candidate{{Festival, festival.VoiceSLT}, {Flite, ""}, {Festival, festival.VoiceKal}, {Espeak, ""}}
}

// Resolve decides which engine name selects, without building it. An
// explicit engine fails when its program is missing rather than quietly
// degrading; only "auto" falls back.
func Resolve(name string, opts Options) (Choice, error) {
	f := finder{opts: opts, lookPath: opts.LookPath, festivalVoices: sync.OnceValue(func() festival.Installed {
		return festival.FindInstalled(opts.Festival.VoicesDir)
	})}
	if f.lookPath == nil {
		f.lookPath = exec.LookPath
	}
	all := func(n string) map[string]string { return map[string]string{"leo": n, "nora": n} }
	switch n := strings.ToLower(strings.TrimSpace(name)); n {
	case Auto, "":
		c := Choice{Voices: map[string]string{}, Paths: map[string]string{}}
		var parts, names []string
		for _, v := range voices {
			chosen := Tone
			for _, cand := range preference(v) {
				if f.usable(cand, v) {
					chosen = cand.engine
					break
				}
			}
			c.Voices[v] = chosen
			if path, ok := f.have(chosen); ok && chosen != Tone {
				c.Paths[chosen] = path
			}
			if chosen == Espeak || chosen == Tone {
				c.Degraded = true
			}
			if len(names) == 0 || names[len(names)-1] != chosen {
				names = append(names, chosen)
			}
			parts = append(parts, v+"="+f.describe(chosen, v))
		}
		c.Name = strings.Join(names, "+")
		c.Reason = "auto: " + strings.Join(parts, ", ")
		if c.Degraded {
			c.Reason += " (install flite, festival and festvox-us-slt-hts for the most intelligible voices; tone is a TEST engine that beeps instead of speaking)"
		}
		return c, nil
	case Flite, Festival, Espeak:
		path, ok := f.have(n)
		if !ok {
			pkg := map[string]string{Flite: "flite", Festival: "festival festvox-us-slt-hts festvox-kallpc16k", Espeak: "espeak-ng"}[n]
			return Choice{}, fmt.Errorf("engine %s: its program is not on PATH (install the Debian package %s, or choose --engine auto or tone)", n, pkg)
		}
		return Choice{Name: n, Voices: all(n), Paths: map[string]string{n: path},
			Reason: fmt.Sprintf("using %s (%s): leo=%s, nora=%s", n, path, f.describe(n, "leo"), f.describe(n, "nora"))}, nil
	case Tone:
		return Choice{Name: Tone, Voices: all(Tone), Reason: "using the tone TEST engine, which beeps instead of speaking"}, nil
	case OpenAI:
		return Choice{Name: OpenAI, Voices: all(OpenAI), Reason: fmt.Sprintf("using openai at %s", opts.OpenAI.BaseURL)}, nil
	default:
		return Choice{}, fmt.Errorf("engine %q: unknown, want one of %s", name, strings.Join(Names(), ", "))
	}
}

// describe names the engine and the voice it uses for an API voice.
func (f finder) describe(engineName, voice string) string {
	var v string
	switch engineName {
	case Flite:
		v, _ = flite.VoiceFor(voice)
	case Festival:
		r, _ := f.festivalVoices().Rendering(voice)
		v = r.String()
	case Espeak:
		v, _ = espeak.VoiceFor(voice)
	default:
		return engineName
	}
	return engineName + " " + v
}

// New builds the engine that name selects; its Name() says which runs.
func New(name string, opts Options) (engine.Engine, error) {
	c, err := Resolve(name, opts)
	if err != nil {
		return nil, err
	}
	built := map[string]engine.Engine{}
	for _, v := range voices {
		n := c.Voices[v]
		if built[n] != nil {
			continue
		}
		e, err := build(n, c.Paths[n], opts)
		if err != nil {
			return nil, fmt.Errorf("engine %s for voice %s: %w", n, v, err)
		}
		built[n] = e
	}
	if len(built) == 1 {
		return built[c.Voices["leo"]], nil
	}
	r := &perVoice{name: c.Name, byVoice: map[string]engine.Engine{}}
	for _, v := range voices {
		r.byVoice[v] = built[c.Voices[v]]
	}
	return r, nil
}

// build makes the engine name, running the program at path.
func build(name, path string, opts Options) (engine.Engine, error) {
	switch name {
	case Flite:
		o := opts.Flite
		o.Binary = path
		return flite.New(o)
	case Festival:
		o := opts.Festival
		o.Binary = path
		return festival.New(o)
	case Espeak:
		o := opts.Espeak
		o.Binary = path
		return espeak.New(o)
	case OpenAI:
		return openai.New(opts.OpenAI)
	default:
		return tone.New(opts.Tone), nil
	}
}

// perVoice sends each request to its voice's engine.
type perVoice struct {
	name    string
	byVoice map[string]engine.Engine
}

func (p *perVoice) Name() string { return p.name }

// Close closes each engine that holds resources (io.Closer) once.
func (p *perVoice) Close() error {
	var errs []error
	done := map[engine.Engine]bool{}
	for _, e := range p.byVoice {
		if c, ok := e.(io.Closer); ok && !done[e] {
			done[e] = true
			errs = append(errs, c.Close())
		}
	}
	return errors.Join(errs...)
}

// Synthesize hands req to the engine chosen for its voice; the empty voice is
// leo (the API default), and uploaded voices go to leo's engine too.
func (p *perVoice) Synthesize(ctx context.Context, req engine.Request) (engine.Audio, error) {
	e, ok := p.byVoice[req.Voice]
	if !ok {
		e = p.byVoice["leo"]
	}
	return e.Synthesize(ctx, req)
}
