package espeak

import (
	"context"
	"encoding/binary"
	"errors"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/distributeai/asyncspeech/api/engine"
)

// realEngine returns an engine on the installed espeak-ng, or skips.
func realEngine(t *testing.T) *Engine {
	t.Helper()
	if _, err := exec.LookPath(DefaultBinary); err != nil {
		t.Skipf("espeak-ng is not on PATH (%v); install it (apt-get install espeak-ng) to test real speech", err)
	}
	e, err := New(Options{Timeout: 20 * time.Second})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return e
}

// parseHeader reads the canonical RIFF/WAVE header by hand, independently of
// engine.ParseWAV, and returns the sample rate, bits, channels and PCM bytes.
func parseHeader(t *testing.T, b []byte) (rate, bits, channels int, pcm []byte) {
	t.Helper()
	if len(b) < 44 || string(b[0:4]) != "RIFF" || string(b[8:12]) != "WAVE" || string(b[12:16]) != "fmt " {
		t.Fatalf("got %d bytes starting %q, want a RIFF/WAVE file with fmt first", len(b), b[:min(len(b), 16)])
	}
	if got := int(binary.LittleEndian.Uint32(b[4:8])); got != len(b)-8 {
		t.Errorf("got RIFF size %d, want %d", got, len(b)-8)
	}
	fmtSize := int(binary.LittleEndian.Uint32(b[16:20]))
	channels = int(binary.LittleEndian.Uint16(b[22:24]))
	rate = int(binary.LittleEndian.Uint32(b[24:28]))
	bits = int(binary.LittleEndian.Uint16(b[34:36]))
	data := 20 + fmtSize
	if string(b[data:data+4]) != "data" {
		t.Fatalf("got chunk %q after fmt, want data", b[data:data+4])
	}
	size := int(binary.LittleEndian.Uint32(b[data+4 : data+8]))
	if size != len(b)-data-8 {
		t.Fatalf("got data size %d, want %d (the rest of the file)", size, len(b)-data-8)
	}
	return rate, bits, channels, b[data+8:]
}

func seconds(rate, bits, channels int, pcm []byte) float64 {
	return float64(len(pcm)) / float64(rate*bits/8*channels)
}

func rms(pcm []byte) float64 {
	var sum float64
	n := len(pcm) / 2
	for i := 0; i < n; i++ {
		s := float64(int16(binary.LittleEndian.Uint16(pcm[2*i:])))
		sum += s * s
	}
	return math.Sqrt(sum / float64(max(n, 1)))
}

func synth(t *testing.T, e *Engine, req engine.Request) []byte {
	t.Helper()
	a, err := e.Synthesize(context.Background(), req)
	if err != nil {
		t.Fatalf("Synthesize(%+v): %v", req, err)
	}
	if a.ContentType != "audio/wav" {
		t.Errorf("got content type %q, want audio/wav", a.ContentType)
	}
	return a.Data
}

func defaults(text, voice string) engine.Request {
	return engine.Request{Text: text, Voice: voice, Temperature: 0.8, Exaggeration: 0.5, CfgWeight: 0.5}
}

func TestRealSpeechDuration(t *testing.T) {
	e := realEngine(t)
	const text = "The quick brown fox jumps over the lazy dog near the river bank."
	words := len(strings.Fields(text))
	for _, voice := range []string{"leo", "nora"} {
		t.Run(voice, func(t *testing.T) {
			rate, bits, ch, pcm := parseHeader(t, synth(t, e, defaults(text, voice)))
			if bits != 16 || ch != 1 || rate < 8000 {
				t.Errorf("got %d Hz %d-bit %d channels, want 16-bit mono", rate, bits, ch)
			}
			sec := seconds(rate, bits, ch, pcm)
			if perWord := sec / float64(words); perWord < 0.3 || perWord > 2 {
				t.Errorf("got %.2fs for %d words (%.2fs/word), want 0.3–2 s per word", sec, words, perWord)
			}
			if r := rms(pcm); r < 100 {
				t.Errorf("got RMS %.0f, want audible speech (≥ 100)", r)
			}
		})
	}
}

func TestRealVoicesDiffer(t *testing.T) {
	e := realEngine(t)
	leo := synth(t, e, defaults("Good morning everyone.", "leo"))
	nora := synth(t, e, defaults("Good morning everyone.", "nora"))
	if string(leo) == string(nora) {
		t.Error("got identical audio for leo and nora, want different voices")
	}
}

func TestRealProsody(t *testing.T) {
	e := realEngine(t)
	const text = "This sentence is spoken with different settings each time."
	dur := func(req engine.Request) float64 {
		rate, bits, ch, pcm := parseHeader(t, synth(t, e, req))
		return seconds(rate, bits, ch, pcm)
	}
	loud := func(req engine.Request) float64 {
		_, _, _, pcm := parseHeader(t, synth(t, e, req))
		return rms(pcm)
	}
	base := defaults(text, "leo")

	slow, fast := base, base
	slow.CfgWeight, fast.CfgWeight = 0, 1
	if ds, df := dur(slow), dur(fast); ds <= df*1.3 {
		t.Errorf("got %.2fs at cfg_weight 0 and %.2fs at 1, want cfg_weight 0 clearly slower", ds, df)
	}

	calm, strong := base, base
	calm.Exaggeration, strong.Exaggeration = 0, 1
	if lc, ls := loud(calm), loud(strong); ls <= lc*1.3 {
		t.Errorf("got RMS %.0f at exaggeration 0 and %.0f at 1, want exaggeration 1 clearly louder", lc, ls)
	}

	flat, lively := base, base
	flat.Temperature, lively.Temperature = 0, 1
	if string(synth(t, e, flat)) == string(synth(t, e, lively)) {
		t.Error("got identical audio at temperature 0 and 1, want a different pitch range")
	}
}

func TestRealMarkupIsSpokenNotInterpreted(t *testing.T) {
	e := realEngine(t)
	// A voice element would switch voices if it were interpreted; a stray
	// ampersand or quote must not break the SSML wrapper.
	text := `<voice gender="female">R&D's "lab"</voice> <break time="10s"/> done`
	rate, bits, ch, pcm := parseHeader(t, synth(t, e, defaults(text, "leo")))
	if sec := seconds(rate, bits, ch, pcm); sec > 8 {
		t.Errorf("got %.1fs, want well under the 10 s break that interpreted markup would add", sec)
	}
}

// fakeBinary writes an executable shell script standing in for espeak-ng.
func fakeBinary(t *testing.T, script string) string {
	t.Helper()
	if _, err := exec.LookPath("sh"); err != nil {
		t.Skipf("no sh to run a fake espeak-ng: %v", err)
	}
	path := filepath.Join(t.TempDir(), "fake-espeak-ng")
	if err := os.WriteFile(path, []byte("#!/bin/sh\n"+script+"\n"), 0o755); err != nil {
		t.Fatalf("writing fake binary: %v", err)
	}
	return path
}

// streamedWAV is what espeak-ng --stdout writes: placeholder sizes.
func streamedWAV(samples int) []byte {
	b := engine.EncodeWAV(22050, make([]int16, samples))
	binary.LittleEndian.PutUint32(b[4:], 0x7ffff024)
	binary.LittleEndian.PutUint32(b[40:], 0x7ffff000)
	return b
}

func TestFakeBinaryErrors(t *testing.T) {
	wavFile := filepath.Join(t.TempDir(), "out.wav")
	if err := os.WriteFile(wavFile, streamedWAV(2205), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		script    string
		voice     string
		timeout   time.Duration
		transient bool
		wantErr   error // nil: success expected
		wantText  string
	}{
		{name: "streamed sizes patched", script: "cat >/dev/null; cat " + wavFile},
		{name: "unknown voice is permanent", script: "cat " + wavFile, voice: "file-123", wantErr: ErrUnknownVoice},
		{name: "timeout is transient", script: "exec sleep 10", timeout: 100 * time.Millisecond, transient: true, wantErr: context.DeadlineExceeded},
		{name: "killed is transient", script: "kill -9 $$", transient: true, wantErr: engine.ErrUnavailable},
		{name: "exit status is permanent", script: "echo 'Error: voice broken' >&2; exit 1", wantText: "voice broken"},
		{name: "garbage output is permanent", script: "cat >/dev/null; echo not a wav", wantErr: engine.ErrNotWAV},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e, err := New(Options{Binary: fakeBinary(t, tc.script), Timeout: cmp(tc.timeout, 5*time.Second)})
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			req := defaults("hello there", cmp(tc.voice, "leo"))
			a, err := e.Synthesize(context.Background(), req)
			if tc.wantErr == nil && tc.wantText == "" {
				if err != nil {
					t.Fatalf("Synthesize: %v", err)
				}
				w, perr := engine.ParseWAV(a.Data)
				if perr != nil || w.Duration() != 100*time.Millisecond {
					t.Errorf("got %+v, %v; want a parseable 100ms WAV", w, perr)
				}
				return
			}
			if err == nil {
				t.Fatal("got no error, want one")
			}
			if got := errors.Is(err, engine.ErrUnavailable); got != tc.transient {
				t.Errorf("got transient=%v (%v), want %v", got, err, tc.transient)
			}
			if tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
				t.Errorf("got %v, want an error wrapping %v", err, tc.wantErr)
			}
			if !strings.Contains(err.Error(), tc.wantText) {
				t.Errorf("got %q, want it to quote %q", err, tc.wantText)
			}
		})
	}
}

func cmp[T comparable](v, fallback T) T {
	var zero T
	if v == zero {
		return fallback
	}
	return v
}

func TestTextGoesOnStdinNotArgs(t *testing.T) {
	dir := t.TempDir()
	wavFile := filepath.Join(dir, "out.wav")
	if err := os.WriteFile(wavFile, streamedWAV(10), 0o644); err != nil {
		t.Fatal(err)
	}
	bin := fakeBinary(t, `printf '%s\n' "$@" > `+dir+`/args; cat > `+dir+`/stdin; cat `+wavFile)
	e, err := New(Options{Binary: bin})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	req := engine.Request{Text: "-v evil; rm -rf / & <b>", Voice: "nora", Temperature: 1, Exaggeration: 0, CfgWeight: 1}
	if _, err := e.Synthesize(context.Background(), req); err != nil {
		t.Fatalf("Synthesize: %v", err)
	}
	args, _ := os.ReadFile(filepath.Join(dir, "args"))
	stdin, _ := os.ReadFile(filepath.Join(dir, "stdin"))
	wantArgs := "--stdin\n--stdout\n-m\n-v\nen-us+f3\n-a\n60\n-s\n195\n"
	if string(args) != wantArgs {
		t.Errorf("got args %q, want %q", args, wantArgs)
	}
	wantStdin := `<speak><prosody range="125%">-v evil; rm -rf / &amp; &lt;b&gt;</prosody></speak>`
	if string(stdin) != wantStdin {
		t.Errorf("got stdin %q, want %q", stdin, wantStdin)
	}
}

func TestMissingBinary(t *testing.T) {
	if _, err := New(Options{Binary: filepath.Join(t.TempDir(), "no-such-espeak")}); err == nil {
		t.Error("New with a missing binary: got no error, want one")
	}
	// A binary that disappears after New is a transient failure.
	bin := fakeBinary(t, "exit 0")
	e, err := New(Options{Binary: bin})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	if err := os.Remove(bin); err != nil {
		t.Fatal(err)
	}
	_, err = e.Synthesize(context.Background(), defaults("hello", "leo"))
	if !errors.Is(err, engine.ErrUnavailable) {
		t.Errorf("got %v, want an error wrapping ErrUnavailable", err)
	}
}

func TestConcurrencyBound(t *testing.T) {
	dir := t.TempDir()
	wavFile := filepath.Join(dir, "out.wav")
	if err := os.WriteFile(wavFile, streamedWAV(10), 0o644); err != nil {
		t.Fatal(err)
	}
	const run = 200 * time.Millisecond
	e, err := New(Options{Binary: fakeBinary(t, "sleep 0.2; cat "+wavFile), MaxConcurrent: 1})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	start := time.Now()
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i := range errs {
		wg.Go(func() { _, errs[i] = e.Synthesize(context.Background(), defaults("hi", "leo")) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("run %d: %v", i, err)
		}
	}
	if d := time.Since(start); d < 2*run {
		t.Errorf("two runs with one slot took %v, want at least %v (one after the other)", d, 2*run)
	}

	t.Run("waiting for a slot ends with the context", func(t *testing.T) {
		e.prog.Slots <- struct{}{} // occupy the only slot
		defer func() { <-e.prog.Slots }()
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
		defer cancel()
		_, err := e.Synthesize(ctx, defaults("hi", "leo"))
		if !errors.Is(err, engine.ErrUnavailable) || !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("got %v, want ErrUnavailable and DeadlineExceeded", err)
		}
	})
}

func TestProsodyFor(t *testing.T) {
	tests := []struct {
		name          string
		temp, ex, cfg float64
		want          Prosody
	}{
		{"api defaults", 0.8, 0.5, 0.5, Prosody{PitchRange: 100, Amplitude: 100, Speed: 150}},
		{"all zero", 0, 0, 0, Prosody{PitchRange: 0, Amplitude: 60, Speed: 105}},
		{"all one", 1, 1, 1, Prosody{PitchRange: 125, Amplitude: 140, Speed: 195}},
		{"out of range clamped", -3, 7, 2, Prosody{PitchRange: 0, Amplitude: 140, Speed: 195}},
		{"NaN is the midpoint", math.NaN(), math.NaN(), math.NaN(), Prosody{PitchRange: 63, Amplitude: 100, Speed: 150}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := ProsodyFor(engine.Request{Temperature: tc.temp, Exaggeration: tc.ex, CfgWeight: tc.cfg})
			if got != tc.want {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestPatchStreamedWAV(t *testing.T) {
	tests := []struct {
		name    string
		in      []byte
		wantErr bool
	}{
		{"streamed", streamedWAV(100), false},
		{"already correct", engine.EncodeWAV(8000, make([]int16, 100)), false},
		{"empty", nil, true},
		{"no data chunk", []byte("RIFF\x04\x00\x00\x00WAVE"), true},
		{"chunk size overflows", []byte("RIFF\x00\x00\x00\x00WAVEjunk\xff\xff\xff\xff"), true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, err := patchStreamedWAV(tc.in)
			if tc.wantErr {
				if err == nil {
					t.Errorf("got no error, want one")
				}
				return
			}
			if err != nil {
				t.Fatalf("patchStreamedWAV: %v", err)
			}
			if w, err := engine.ParseWAV(out); err != nil || w.DataSize != 200 {
				t.Errorf("got %+v, %v; want 200 data bytes", w, err)
			}
		})
	}
}

// BenchmarkSynthesize measures one espeak-ng run for a sentence; compare it
// with api/engine/tone's BenchmarkSynthesize, the same sentence without speech.
func BenchmarkSynthesize(b *testing.B) {
	if _, err := exec.LookPath(DefaultBinary); err != nil {
		b.Skipf("espeak-ng is not on PATH: %v", err)
	}
	e, err := New(Options{})
	if err != nil {
		b.Fatal(err)
	}
	req := defaults("The quick brown fox jumps over the lazy dog.", "leo")
	for b.Loop() {
		if _, err := e.Synthesize(context.Background(), req); err != nil {
			b.Fatal(err)
		}
	}
}
