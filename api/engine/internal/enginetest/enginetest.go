// Package enginetest holds the checks every program-backed engine's tests
// share: the audio is a valid WAV of plausible length, the two built-in
// voices differ, and each parameter moves the audio the documented way.
package enginetest

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/distributeai/asyncspeech/api/engine"
)

// Defaults is a request with the API's default parameters.
func Defaults(text, voice string) engine.Request {
	return engine.Request{Text: text, Voice: voice, Temperature: 0.8, Exaggeration: 0.5, CfgWeight: 0.5}
}

// Synth runs e and returns the 16-bit PCM of its WAV.
func Synth(t *testing.T, e engine.Engine, req engine.Request) engine.PCM16 {
	t.Helper()
	a, err := e.Synthesize(context.Background(), req)
	if err != nil {
		t.Fatalf("%s Synthesize(%q, voice %q): %v", e.Name(), req.Text, req.Voice, err)
	}
	if a.ContentType != "audio/wav" {
		t.Errorf("got content type %q, want audio/wav", a.ContentType)
	}
	p, err := engine.ReadPCM16(a.Data)
	if err != nil {
		t.Fatalf("%s output: %v", e.Name(), err)
	}
	return p
}

// RMS is the root mean square of the samples.
func RMS(p engine.PCM16) float64 {
	var sum float64
	n := len(p.Data) / 2
	for i := 0; i < n; i++ {
		s := float64(int16(uint16(p.Data[2*i]) | uint16(p.Data[2*i+1])<<8))
		sum += s * s
	}
	return math.Sqrt(sum / float64(max(n, 1)))
}

// Sentence is what the real-engine tests say: 13 words.
const Sentence = "The quick brown fox jumps over the lazy dog near the river bank."

// CheckSpeech runs the checks every real engine must pass: CheckVoice for
// leo and nora, and leo and nora different.
func CheckSpeech(t *testing.T, e engine.Engine) {
	t.Helper()
	l, n := CheckVoice(t, e, "leo"), CheckVoice(t, e, "nora")
	if l.SampleRate == n.SampleRate && string(l.Data) == string(n.Data) {
		t.Error("leo and nora gave identical audio, want different voices")
	}
}

// CheckVoice checks one voice of a real engine: a valid WAV of plausible
// length (1.5–8 words a second), lower cfg_weight longer, higher
// exaggeration louder. It returns the audio at the defaults.
func CheckVoice(t *testing.T, e engine.Engine, voice string) engine.PCM16 {
	t.Helper()
	words := float64(len(strings.Fields(Sentence)))
	p := Synth(t, e, Defaults(Sentence, voice))
	sec := p.Duration().Seconds()
	if sec < words/8 || sec > words/1.5 {
		t.Errorf("%s: got %.2fs for %v words, want %.2f–%.2fs", voice, sec, words, words/8, words/1.5)
	}
	if RMS(p) < 100 {
		t.Errorf("%s: got RMS %.0f, want audible speech (≥ 100)", voice, RMS(p))
	}

	slow, fast := Defaults(Sentence, voice), Defaults(Sentence, voice)
	slow.CfgWeight, fast.CfgWeight = 0, 1
	ds, df := Synth(t, e, slow).Duration(), Synth(t, e, fast).Duration()
	if !(ds > p.Duration() && p.Duration() > df) {
		t.Errorf("%s: got %v (cfg_weight 0) %v (0.5) %v (1), want strictly shorter as cfg_weight rises", voice, ds, p.Duration(), df)
	}
	quiet, loud := Defaults(Sentence, voice), Defaults(Sentence, voice)
	quiet.Exaggeration, loud.Exaggeration = 0, 1
	rq, rl := RMS(Synth(t, e, quiet)), RMS(Synth(t, e, loud))
	if !(rq < RMS(p) && RMS(p) < rl) {
		t.Errorf("%s: got RMS %.0f (exaggeration 0) %.0f (0.5) %.0f (1), want strictly louder as exaggeration rises", voice, rq, RMS(p), rl)
	}
	return p
}

// FakeBinary writes a shell script standing in for an engine's program.
func FakeBinary(t *testing.T, script string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "fake-engine")
	if err := os.WriteFile(path, []byte("#!/bin/sh\n"+script+"\n"), 0o755); err != nil {
		t.Fatalf("writing fake binary: %v", err)
	}
	return path
}
