package festival

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/distributeai/asyncspeech/api/engine"
	"github.com/distributeai/asyncspeech/api/engine/internal/enginetest"
)

func realEngine(t *testing.T) *Engine {
	t.Helper()
	if _, err := exec.LookPath(DefaultBinary); err != nil {
		t.Skipf("festival's text2wave is not installed (%v); apt-get install festival festvox-us-slt-hts festvox-kallpc16k", err)
	}
	for _, v := range []string{VoiceSLT, VoiceKal} {
		if !VoiceInstalled("", v) {
			t.Skipf("festival voice %s is not installed; apt-get install festvox-us-slt-hts festvox-kallpc16k", v)
		}
	}
	e, err := New(Options{Timeout: 60 * time.Second})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return e
}

func TestRealSpeech(t *testing.T) { enginetest.CheckSpeech(t, realEngine(t)) }

func TestRealTemperatureChangesKal(t *testing.T) {
	e := realEngine(t)
	flat, lively := enginetest.Defaults(enginetest.Sentence, "leo"), enginetest.Defaults(enginetest.Sentence, "leo")
	flat.Temperature, lively.Temperature = 0, 1
	a, b := enginetest.Synth(t, e, flat), enginetest.Synth(t, e, lively)
	if string(a.Data) == string(b.Data) {
		t.Error("temperature 0 and 1 gave identical audio for leo (kal_diphone), want a different intonation range")
	}
}

func TestRealLongText(t *testing.T) {
	if testing.Short() {
		t.Skip("long text: skipped in -short")
	}
	e := realEngine(t)
	text, err := os.ReadFile(filepath.Join("..", "..", "..", "testdata", "intelligibility", "prose-4096.txt"))
	if err != nil {
		t.Fatal(err)
	}
	for _, voice := range []string{"nora", "leo"} {
		start := time.Now()
		p := enginetest.Synth(t, e, enginetest.Defaults(string(text), voice))
		took := time.Since(start)
		t.Logf("%s: %d characters in %v, %v of audio", voice, len([]rune(string(text))), took.Round(time.Millisecond), p.Duration().Round(time.Second))
		if took > enginetest.Within {
			t.Errorf("%s: got %v for %d characters, want under %v", voice, took, len(text), enginetest.Within)
		}
		if p.Duration() < 2*time.Minute {
			t.Errorf("%s: got %v of audio for ~700 words, want minutes", voice, p.Duration())
		}
	}
}

func TestRealMaxAudio(t *testing.T) {
	e := realEngine(t)
	req := enginetest.Defaults(strings.Repeat("This sentence is read again and again. ", 60), "nora")
	req.MaxAudio = 5 * time.Second
	if _, err := e.Synthesize(context.Background(), req); !errors.Is(err, engine.ErrAudioTooLong) {
		t.Errorf("got %v for minutes of speech under a 5s cap, want ErrAudioTooLong", err)
	}
}

func TestArgsHoldNoText(t *testing.T) {
	dir := t.TempDir()
	wav := filepath.Join(dir, "w.wav")
	if err := os.WriteFile(wav, engine.EncodeWAV(16000, make([]int16, 1600)), 0o644); err != nil {
		t.Fatal(err)
	}
	bin := enginetest.FakeBinary(t, `printf '%s\n' "$@" > `+dir+`/args; cat > `+dir+`/stdin; cp `+wav+` "$2"`)
	voices := filepath.Join(dir, "voices")
	for _, v := range []string{"us/" + VoiceSLT, "english/" + VoiceKal} {
		if err := os.MkdirAll(filepath.Join(voices, v), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	e, err := New(Options{Binary: bin, VoicesDir: voices})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	req := engine.Request{Text: `(system "rm -rf /") hi`, Voice: "nora", Temperature: 0.8, Exaggeration: 0.5, CfgWeight: 0}
	if _, err := e.Synthesize(context.Background(), req); err != nil {
		t.Fatalf("Synthesize: %v", err)
	}
	args, _ := os.ReadFile(filepath.Join(dir, "args"))
	stdin, _ := os.ReadFile(filepath.Join(dir, "stdin"))
	if strings.Contains(string(args), "system") || !strings.Contains(string(args), "(voice_cmu_us_slt_arctic_hts)") || !strings.Contains(string(args), `"-r" 0.700`) {
		t.Errorf("got args %q, want the voice and rate 0.7, never the text", args)
	}
	if string(stdin) != req.Text {
		t.Errorf("got stdin %q, want %q", stdin, req.Text)
	}

	if err := os.RemoveAll(filepath.Join(voices, "english")); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Synthesize(context.Background(), enginetest.Defaults("hi", "leo")); !errors.Is(err, ErrUnknownVoice) || errors.Is(err, engine.ErrUnavailable) {
		t.Errorf("got %v for an uninstalled voice, want a permanent ErrUnknownVoice", err)
	}
}
