// Package festival produces speech by running Debian's festival, whose HTS
// voice cmu_us_slt_arctic_hts (package festvox-us-slt-hts) is the most
// intelligible offline voice measured on this project (BENCHMARKS.md): it
// is nora, and, with its pitch and formants lowered after synthesis
// (LeoLower), leo.
//
// festival runs as separate, warm processes (`festival --pipe`, os/exec, no
// shell, a minimal environment, killed with speechd), at most one per run
// slot, so start-up and voice loading are paid once rather than per request
// (see warm.go). The text never reaches festival as a command: it is
// sanitised (engine.SanitizeText) and written to a file in the process's
// private directory, and the Scheme command names only that file, the voice
// and numbers this package formats. Long text is synthesised one group of
// sentences at a time, so an audio cap stops it early and one run's memory
// stays small.
package festival

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/distributeai/asyncspeech/api/engine"
	"github.com/distributeai/asyncspeech/api/engine/internal/child"
	"github.com/distributeai/asyncspeech/api/engine/internal/sentences"
)

// Defaults for Options fields left zero.
const (
	DefaultBinary    = "festival"
	DefaultVoicesDir = "/usr/share/festival/voices"
	DefaultTimeout   = 60 * time.Second
	// ChunkBytes is the most text one run reads: about a minute of audio,
	// a few seconds of synthesis.
	ChunkBytes = 1000
)

// Festival voice names (directories under VoicesDir/<language>/).
const (
	// VoiceSLT is the female HTS voice of festvox-us-slt-hts.
	VoiceSLT = "cmu_us_slt_arctic_hts"
	// VoiceKal is the male diphone voice of festvox-kallpc16k.
	VoiceKal = "kal_diphone"
)

// LeoLower is the factor by which leo's pitch and formants are below
// nora's: leo is the same HTS voice rendered 1/LeoLower times faster and
// played back LeoLower times slower (engine.PCM16.Retime), like tape, so its
// tempo is nora's again while every frequency drops — a deeper, male-sounding
// voice that the recogniser understands better than nora and far better than
// kal_diphone or flite's rms (chosen by measurement, BENCHMARKS.md). leo and
// nora share warm processes: they are one festival voice, and each run sets
// the rate again.
const LeoLower = 0.80

// Rendering is how festival renders one of the API's voices.
type Rendering struct {
	// Voice is the festival voice that speaks.
	Voice string
	// Lower, when not zero, is the factor by which pitch and formants are
	// lowered after synthesis (see LeoLower).
	Lower float64
}

// String names the rendering for logs: the voice, and the lowering if any.
func (r Rendering) String() string {
	if r.Lower == 0 {
		return r.Voice
	}
	return r.Voice + " lowered ×" + strconv.FormatFloat(r.Lower, 'f', -1, 64)
}

// Installed is which of the voices this package renders (VoiceSLT,
// VoiceKal) festival has, as FindInstalled found them. Which voices are
// installed is a fact about the machine that changes only when packages do,
// so an engine looks once, in New, and not on every request: a voice
// installed or removed later is seen by the next engine built.
// The zero value has no voices.
type Installed struct {
	voices map[string]bool
}

// FindInstalled looks under voicesDir (DefaultVoicesDir when empty) for the
// voices this package renders, once, with VoiceInstalled.
func FindInstalled(voicesDir string) Installed {
	in := Installed{voices: map[string]bool{}}
	for _, v := range []string{VoiceSLT, VoiceKal} {
		in.voices[v] = VoiceInstalled(voicesDir, v)
	}
	return in
}

// Has reports whether voice was installed when in was found; it is false
// for voices this package does not render, which FindInstalled does not
// look for.
func (in Installed) Has(voice string) bool { return in.voices[voice] }

// Rendering maps the API's built-in voices to festival renderings, given the
// voices installed: nora is cmu_us_slt_arctic_hts; leo is that voice lowered
// by LeoLower when it is installed, else kal_diphone (the male voice
// festival has, far less intelligible). An empty name is the API default,
// leo. The rendering's voice may itself be missing (Has): a request for it
// then fails.
func (in Installed) Rendering(name string) (Rendering, bool) {
	switch name {
	case "", "leo":
		if in.Has(VoiceSLT) {
			return Rendering{Voice: VoiceSLT, Lower: LeoLower}, true
		}
		return Rendering{Voice: VoiceKal}, true
	case "nora":
		return Rendering{Voice: VoiceSLT}, true
	}
	return Rendering{}, false
}

// ErrUnknownVoice is a permanent error: festival renders only the built-in
// voices, and only those whose package is installed.
var ErrUnknownVoice = errors.New("voice not available in festival")

// VoiceInstalled reports whether festival's voice is under voicesDir
// (DefaultVoicesDir when empty), in any language directory. It looks on
// disk at each call: engines keep what FindInstalled found instead.
func VoiceInstalled(voicesDir, voice string) bool {
	if voicesDir == "" {
		voicesDir = DefaultVoicesDir
	}
	m, _ := filepath.Glob(filepath.Join(voicesDir, "*", voice))
	for _, p := range m {
		if fi, err := os.Stat(p); err == nil && fi.IsDir() {
			return true
		}
	}
	return false
}

// Options configure the festival engine.
type Options struct {
	// Binary is the festival program, a name looked up on PATH or a path.
	Binary string
	// VoicesDir is where festival's voices are installed.
	VoicesDir string
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

// Engine runs festival. It is safe for concurrent use.
type Engine struct {
	prog      child.Program
	voicesDir string
	installed Installed
	pool      pool
}

var _ engine.Engine = (*Engine)(nil)

// New finds festival and the voices installed; it fails when the program is
// not found. A voice whose package is missing fails each request for it
// (permanently), not New. Voices are looked for only here: one installed or
// removed later is seen by the next engine built (speechd's next start).
func New(opts Options) (*Engine, error) {
	if opts.VoicesDir == "" {
		opts.VoicesDir = DefaultVoicesDir
	}
	prog, err := child.Find(child.Want{Engine: "festival", Binary: opts.Binary, DefaultBinary: DefaultBinary,
		Timeout: opts.Timeout, DefaultTimeout: DefaultTimeout, MaxConcurrent: opts.MaxConcurrent, Getenv: opts.Getenv, Nice: opts.Nice})
	if err != nil {
		return nil, err
	}
	return &Engine{prog: prog, voicesDir: opts.VoicesDir, installed: FindInstalled(opts.VoicesDir)}, nil
}

// Name is "festival".
func (e *Engine) Name() string { return "festival" }

// Path is the program the engine runs.
func (e *Engine) Path() string { return e.prog.Path }

// Prosody is how a request's sampling parameters are rendered by festival.
type Prosody struct {
	// Speed is the speaking-rate factor from cfg_weight (engine.SpeedFor):
	// the HTS voice's -r rate (Speed/Lower for a lowered rendering, whose
	// playback is Lower times slower), the diphone voice's Duration_Stretch
	// 1.1/Speed (1.1 being its own).
	Speed float64
	// Gain multiplies the samples (engine.GainFor of exaggeration).
	Gain float64
	// F0Std is the diphone voice's intonation range in Hz (target_f0_std,
	// kal's own is 14 at temperature 0.8; 0 is a monotone, 1 is 17.5).
	// The HTS voice has no range control that festival passes on (its
	// -fm/-b parameters were measured to leave the audio bit-identical), so
	// temperature does not change nora's audio, nor leo's when leo is the
	// lowered HTS voice.
	F0Std float64
}

// kal_diphone's own settings (festvox kal_diphone.scm): target_f0_std and
// Duration_Stretch, which its voice function sets to 1.1.
const (
	kalF0Std   = 14
	kalStretch = 1.1
)

// ProsodyFor maps temperature, exaggeration and cfg_weight (each 0–1,
// clamped) to festival prosody. The API defaults (0.8, 0.5, 0.5) give the
// voices' own settings, so they cost no intelligibility.
func ProsodyFor(req engine.Request) Prosody {
	t := req.Temperature
	if t != t { // NaN
		t = 0.8
	}
	return Prosody{
		Speed: engine.SpeedFor(req.CfgWeight),
		Gain:  engine.GainFor(req.Exaggeration),
		F0Std: kalF0Std * min(max(t, 0), 1) / 0.8,
	}
}

func num(f float64) string { return strconv.FormatFloat(f, 'f', 3, 64) }

// setup is the Scheme that selects the voice and sets its prosody, built
// only from the voice constant and formatted numbers. Selecting the voice
// resets what an earlier run of the warm process changed, and every
// parameter a run may change is set each time.
func setup(r Rendering, p Prosody) string {
	s := "(voice_" + r.Voice + ")"
	switch r.Voice {
	case VoiceSLT:
		rate := p.Speed
		if r.Lower != 0 {
			rate /= r.Lower
		}
		s += ` (set! hts_engine_params (append hts_engine_params (list (list "-r" ` + num(rate) + `))))`
	case VoiceKal:
		s += " (Parameter.set 'Duration_Stretch " + num(kalStretch/p.Speed) + ")"
		s += " (set! int_lr_params '((target_f0_mean 105) (target_f0_std " + num(p.F0Std) + ") (model_f0_mean 170) (model_f0_std 34)))"
	}
	return s
}

// Synthesize has a warm festival process speak each group of sentences and
// joins the audio. A process that cannot start, dies or passes the timeout
// is transient (engine.ErrUnavailable); festival reporting an error, an
// unknown or uninstalled voice, or output that is not a WAV are permanent;
// audio past req.MaxAudio is engine.ErrAudioTooLong.
func (e *Engine) Synthesize(ctx context.Context, req engine.Request) (engine.Audio, error) {
	r, ok := e.installed.Rendering(req.Voice)
	voice := r.Voice
	if !ok {
		return engine.Audio{}, fmt.Errorf("festival: voice %q: %w (built-in voices: leo, nora)", req.Voice, ErrUnknownVoice)
	}
	if !e.installed.Has(voice) {
		return engine.Audio{}, fmt.Errorf("festival: voice %s is not installed under %s: %w", voice, e.voicesDir, ErrUnknownVoice)
	}
	release, err := e.prog.Slots.Acquire(ctx, "festival")
	if err != nil {
		return engine.Audio{}, err
	}
	defer release()
	p := ProsodyFor(req)
	chunks := sentences.Split(engine.SanitizeText(req.Text), ChunkBytes)
	if len(chunks) == 0 { // nothing to say: no run, no audio
		return engine.Audio{ContentType: "audio/wav", Data: engine.EncodeWAV(16000, nil)}, nil
	}
	proc, err := e.get(voice)
	if err != nil {
		return engine.Audio{}, err
	}
	healthy := true
	defer func() {
		if healthy {
			e.put(proc)
		}
	}()
	set := setup(r, p)
	// A lowered rendering plays 1/Lower times longer than festival made it,
	// so festival's audio is capped at Lower times the limit.
	maxAudio := req.MaxAudio
	if r.Lower != 0 {
		maxAudio = time.Duration(float64(maxAudio) * r.Lower)
	}
	pcm, err := child.Chunked(ctx, "festival", chunks, maxAudio, func(ctx context.Context, chunk string) ([]byte, error) {
		wav, ok, err := proc.run(ctx, set, chunk, e.prog.Timeout)
		healthy = healthy && ok
		return wav, err
	})
	if err != nil {
		if r.Lower != 0 && errors.Is(err, engine.ErrAudioTooLong) {
			return engine.Audio{}, fmt.Errorf("festival voice %s, %d characters: over %v once lowered (festival's audio is capped at %v): %w", r, len([]rune(req.Text)), req.MaxAudio, maxAudio, err)
		}
		return engine.Audio{}, fmt.Errorf("festival voice %s, %d characters: %w", r, len([]rune(req.Text)), err)
	}
	if r.Lower != 0 {
		pcm = pcm.Retime(1 / r.Lower)
	}
	pcm.Gain(p.Gain)
	return engine.Audio{ContentType: "audio/wav", Data: pcm.WAV()}, nil
}
