package espeak

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/distributeai/asyncspeech/api/engine"
)

// TestRealCommandPrefixAndNUL is issue 13's engine-input case: espeak-ng's
// embedded-command prefix \x01 (an injected pause, a speed change) and NUL
// (which used to drop the rest of the text) give audio no longer than the
// same words without them, and NUL no longer truncates.
func TestRealCommandPrefixAndNUL(t *testing.T) {
	e := realEngine(t)
	duration := func(text string) time.Duration {
		t.Helper()
		w, err := engine.ParseWAV(synth(t, e, defaults(text, "leo")))
		if err != nil {
			t.Fatalf("ParseWAV for %q: %v", text, err)
		}
		return w.Duration()
	}
	plain := duration("hello world")
	// The same words with the control characters replaced by spaces, which is
	// what the sanitiser does; timing differences come only from the spaces.
	tests := []struct {
		name, text string
	}{
		{"pause command", "\x0199999B hello world"},
		{"speed command", "\x01" + "20S hello world"},
		{"NUL between words", "hello\x00world"},
		{"DEL and C1", "hello\x7f\u0085world"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := duration(tc.text)
			// "99999B" and "20S" are spoken as text once the prefix is gone,
			// so those cases compare with the words plus that token.
			want := duration(strings.Map(func(r rune) rune {
				if r < 0x20 || r == 0x7f || (r >= 0x80 && r <= 0x9f) {
					return ' '
				}
				return r
			}, tc.text))
			if got > want+50*time.Millisecond {
				t.Errorf("got %v of audio for %q, want no more than %v (the text without control characters)", got, tc.text, want)
			}
			if got < plain {
				t.Errorf("got %v of audio for %q, want at least %v (hello world: nothing truncated)", got, tc.text, plain)
			}
		})
	}
	// The injected pause used to give 6.9 s against 1.2 s: with the prefix
	// gone the audio stays near the plain text's plus the spoken number.
	if got := duration("\x0199999B hello world"); got > 4*plain {
		t.Errorf("got %v with the pause command, want well under %v (4× plain %v)", got, 4*plain, plain)
	}
}

func TestChildEnvironmentHasNoSecrets(t *testing.T) {
	dir := t.TempDir()
	wavFile := filepath.Join(dir, "out.wav")
	if err := os.WriteFile(wavFile, streamedWAV(10), 0o644); err != nil {
		t.Fatal(err)
	}
	bin := fakeBinary(t, `env > `+dir+`/env; cat >/dev/null; cat `+wavFile)
	t.Setenv("SPEECHD_KEYS", "secret-key")
	t.Setenv("SPEECHD_LINK_SECRET", "secret-link")
	t.Setenv("SPEECHD_OPENAI_KEY", "secret-openai")
	e, err := New(Options{Binary: bin})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	if _, err := e.Synthesize(context.Background(), defaults("hi", "leo")); err != nil {
		t.Fatalf("Synthesize: %v", err)
	}
	env, err := os.ReadFile(filepath.Join(dir, "env"))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(env)), "\n") {
		name, _, _ := strings.Cut(line, "=")
		switch name {
		case "PATH", "LANG", "LC_ALL", "LC_CTYPE", "PWD", "SHLVL", "_", "OLDPWD": // sh adds the last four itself
		default:
			t.Errorf("child saw %q, want only PATH and the locale", line)
		}
		if strings.Contains(line, "secret") {
			t.Errorf("child saw a secret: %q", line)
		}
	}
}

func TestMaxAudioStopsTheRun(t *testing.T) {
	dir := t.TempDir()
	head := filepath.Join(dir, "head.wav")
	if err := os.WriteFile(head, streamedWAV(0), 0o644); err != nil {
		t.Fatal(err)
	}
	// A program that would stream audio for ever (22050 Hz, 2 bytes a sample).
	bin := fakeBinary(t, `cat >/dev/null; cat `+head+`; exec cat /dev/zero`)
	e, err := New(Options{Binary: bin, Timeout: 30 * time.Second})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	req := defaults("hi", "leo")
	req.MaxAudio = 2 * time.Second
	a, err := e.Synthesize(context.Background(), req)
	if !errors.Is(err, engine.ErrAudioTooLong) {
		t.Fatalf("got %v, want ErrAudioTooLong", err)
	}
	if errors.Is(err, engine.ErrUnavailable) {
		t.Errorf("got a transient error %v, want a permanent one", err)
	}
	if len(a.Data) != 0 {
		t.Errorf("got %d bytes of audio, want none", len(a.Data))
	}
}

func TestRealMaxAudio(t *testing.T) {
	e := realEngine(t)
	text := strings.Repeat("This sentence is read again and again. ", 40)
	req := defaults(text, "leo")
	req.MaxAudio = 5 * time.Second
	if _, err := e.Synthesize(context.Background(), req); !errors.Is(err, engine.ErrAudioTooLong) {
		t.Errorf("got %v for about two minutes of speech under a 5s cap, want ErrAudioTooLong", err)
	}
	req.MaxAudio = 10 * time.Minute
	if _, err := e.Synthesize(context.Background(), req); err != nil {
		t.Errorf("got %v under a 10m cap, want audio", err)
	}
}

// TestRealPhonemeInputIsText: espeak-ng reads [[...]] as phoneme mnemonics,
// and long phoneme input crashes espeak-ng 1.51 (SIGSEGV) or garbles its
// output; the engine breaks every "[[" so the brackets are read as text.
func TestRealPhonemeInputIsText(t *testing.T) {
	e := realEngine(t)
	for _, text := range []string{
		"[[" + strings.Repeat("a:", 200) + "]]",
		"[[h@l'oU]] x",
		"[[[[[[ nested ]]]]]]",
	} {
		if _, err := engine.ParseWAV(synth(t, e, defaults(text, "leo"))); err != nil {
			t.Errorf("%.30q: got %v, want a WAV", text, err)
		}
	}
}
