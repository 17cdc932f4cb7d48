package flite

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
		t.Skipf("flite is not installed (%v); apt-get install flite to test it", err)
	}
	e, err := New(Options{Timeout: 30 * time.Second})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return e
}

func TestRealSpeech(t *testing.T) { enginetest.CheckSpeech(t, realEngine(t)) }

func TestRealMaxAudio(t *testing.T) {
	e := realEngine(t)
	req := enginetest.Defaults(strings.Repeat("This sentence is read again and again. ", 60), "leo")
	req.MaxAudio = 5 * time.Second
	if _, err := e.Synthesize(context.Background(), req); !errors.Is(err, engine.ErrAudioTooLong) {
		t.Errorf("got %v for minutes of speech under a 5s cap, want ErrAudioTooLong", err)
	}
}

func TestTextGoesOnStdinSanitised(t *testing.T) {
	dir := t.TempDir()
	wav := filepath.Join(dir, "w.wav")
	if err := os.WriteFile(wav, engine.EncodeWAV(16000, make([]int16, 1600)), 0o644); err != nil {
		t.Fatal(err)
	}
	// flite's -o names the output file: the fake copies the WAV there.
	bin := enginetest.FakeBinary(t, `printf '%s\n' "$@" > `+dir+`/args; cat > `+dir+`/stdin
out=""; prev=""; for a in "$@"; do [ "$prev" = "-o" ] && out="$a"; prev="$a"; done; cp `+wav+` "$out"`)
	e, err := New(Options{Binary: bin})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	req := engine.Request{Text: "-voice evil\x00 hi\x01", Voice: "nora", Exaggeration: 0.5, CfgWeight: 1}
	a, err := e.Synthesize(context.Background(), req)
	if err != nil {
		t.Fatalf("Synthesize: %v", err)
	}
	if w, err := engine.ParseWAV(a.Data); err != nil || w.Duration() != 100*time.Millisecond {
		t.Errorf("got %+v, %v; want the fake's 100ms WAV", w, err)
	}
	args, _ := os.ReadFile(filepath.Join(dir, "args"))
	stdin, _ := os.ReadFile(filepath.Join(dir, "stdin"))
	if !strings.HasPrefix(string(args), "-voice\nslt\n-f\n/dev/stdin\n-o\n") || !strings.HasSuffix(string(args), "--setf\nduration_stretch=0.769\n") {
		t.Errorf("got args %q, want voice slt, stdin, an output file and the stretch for cfg_weight 1", args)
	}
	if string(stdin) != "-voice evil  hi" {
		t.Errorf("got stdin %q, want the sanitised text", stdin)
	}
}

func TestErrors(t *testing.T) {
	tests := []struct {
		name      string
		script    string
		voice     string
		transient bool
		want      error
	}{
		{"unknown voice is permanent", "exit 0", "file-1", false, ErrUnknownVoice},
		{"killed is transient", "kill -9 $$", "leo", true, engine.ErrUnavailable},
		{"no output file is permanent", "cat >/dev/null", "leo", false, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e, err := New(Options{Binary: enginetest.FakeBinary(t, tc.script)})
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			_, err = e.Synthesize(context.Background(), enginetest.Defaults("hello", tc.voice))
			if err == nil {
				t.Fatal("got no error, want one")
			}
			if got := errors.Is(err, engine.ErrUnavailable); got != tc.transient {
				t.Errorf("got transient=%v (%v), want %v", got, err, tc.transient)
			}
			if tc.want != nil && !errors.Is(err, tc.want) {
				t.Errorf("got %v, want it to wrap %v", err, tc.want)
			}
		})
	}
}

// TestRealDefaultsAreTheVoicesOwn: at the API defaults the engine's samples
// are exactly what plain flite makes, so the mapping costs no intelligibility.
func TestRealDefaultsAreTheVoicesOwn(t *testing.T) {
	e := realEngine(t)
	for _, voice := range []string{"leo", "nora"} {
		t.Run(voice, func(t *testing.T) {
			got := enginetest.Synth(t, e, enginetest.Defaults(enginetest.Sentence, voice))
			fv, _ := VoiceFor(voice)
			out := filepath.Join(t.TempDir(), "plain.wav")
			if b, err := exec.Command(e.Path(), "-voice", fv, "-t", enginetest.Sentence, "-o", out).CombinedOutput(); err != nil {
				t.Fatalf("flite: %v: %s", err, b)
			}
			b, err := os.ReadFile(out)
			if err != nil {
				t.Fatal(err)
			}
			want, err := engine.ReadPCM16(b)
			if err != nil {
				t.Fatal(err)
			}
			if got.SampleRate != want.SampleRate || string(got.Data) != string(want.Data) {
				t.Errorf("got %d Hz, %d bytes; want plain flite's %d Hz, %d bytes, identical", got.SampleRate, len(got.Data), want.SampleRate, len(want.Data))
			}
		})
	}
}
