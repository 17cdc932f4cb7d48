package tone

import (
	"context"
	"errors"
	"math"
	"testing"
	"time"

	"github.com/distributeai/asyncspeech/api/engine"
)

func TestSynthesizeDurationFollowsText(t *testing.T) {
	e := New(Options{})
	tests := []struct {
		name string
		text string
		want time.Duration
	}{
		{"empty gets minimum", "", DefaultMinDuration},
		{"one char gets minimum", "a", DefaultMinDuration},
		{"ten chars", "hello hell", 600 * time.Millisecond},
		{"runes not bytes", "héllo wörld", 660 * time.Millisecond},
		{"long text capped", string(make([]rune, 4096)), DefaultMaxDuration},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a, err := e.Synthesize(context.Background(), engine.Request{Text: tc.text, Voice: "leo"})
			if err != nil {
				t.Fatalf("Synthesize: %v", err)
			}
			if a.ContentType != "audio/wav" {
				t.Errorf("got content type %q, want audio/wav", a.ContentType)
			}
			w, err := engine.ParseWAV(a.Data)
			if err != nil {
				t.Fatalf("output does not parse: %v", err)
			}
			if w.Format != 1 || w.Channels != 1 || w.BitsPerSample != 16 || w.SampleRate != DefaultSampleRate {
				t.Errorf("got format %+v, want 16-bit mono PCM at %d Hz", w, DefaultSampleRate)
			}
			if got := w.Duration(); got != tc.want {
				t.Errorf("got duration %v, want %v", got, tc.want)
			}
		})
	}
}

// dominantFrequency estimates a tone's pitch by counting zero crossings.
func dominantFrequency(t *testing.T, data []byte) float64 {
	t.Helper()
	w, err := engine.ParseWAV(data)
	if err != nil {
		t.Fatalf("output does not parse: %v", err)
	}
	pcm := data[w.DataOffset : w.DataOffset+w.DataSize]
	crossings, prev := 0, int16(0)
	for i := 0; i+1 < len(pcm); i += 2 {
		s := int16(uint16(pcm[i]) | uint16(pcm[i+1])<<8)
		if s == 0 {
			continue // exact zeros sit on a crossing; count the sign change once
		}
		if (prev < 0) != (s < 0) && prev != 0 {
			crossings++
		}
		prev = s
	}
	return float64(crossings) / 2 / w.Duration().Seconds()
}

func TestVoiceChangesPitch(t *testing.T) {
	e := New(Options{})
	text := "aaaaaaaaaaaaaaaaaaaa" // no spaces: one continuous tone
	tests := []struct {
		voice string
		want  float64
	}{
		{"leo", 120},
		{"nora", 220},
		{"", 120},
		{"voice-abc123", Pitch("voice-abc123")},
	}
	for _, tc := range tests {
		t.Run(tc.voice, func(t *testing.T) {
			a, err := e.Synthesize(context.Background(), engine.Request{Text: text, Voice: tc.voice})
			if err != nil {
				t.Fatalf("Synthesize: %v", err)
			}
			if got := dominantFrequency(t, a.Data); math.Abs(got-tc.want) > tc.want*0.05 {
				t.Errorf("got %.1f Hz, want %.1f Hz ±5%%", got, tc.want)
			}
		})
	}
	if p := Pitch("voice-abc123"); p < 150 || p > 350 {
		t.Errorf("got custom voice pitch %v, want within [150, 350]", p)
	}
}

func TestSpacesAreSilent(t *testing.T) {
	e := New(Options{})
	a, err := e.Synthesize(context.Background(), engine.Request{Text: "ab  cd", Voice: "nora"})
	if err != nil {
		t.Fatalf("Synthesize: %v", err)
	}
	w, _ := engine.ParseWAV(a.Data)
	pcm := a.Data[w.DataOffset:]
	perChar := len(pcm) / 6
	loud := func(from, to int) bool {
		for i := from &^ 1; i+1 < to; i += 2 {
			if s := int16(uint16(pcm[i]) | uint16(pcm[i+1])<<8); s > 1000 || s < -1000 {
				return true
			}
		}
		return false
	}
	if loud(2*perChar, 4*perChar) {
		t.Error("got sound during the spaces, want silence")
	}
	if !loud(0, 2*perChar) || !loud(4*perChar, len(pcm)) {
		t.Error("got silence during letters, want a tone")
	}
}

func TestDelay(t *testing.T) {
	t.Run("waits", func(t *testing.T) {
		e := New(Options{Delay: 50 * time.Millisecond})
		start := time.Now()
		if _, err := e.Synthesize(context.Background(), engine.Request{Text: "hi"}); err != nil {
			t.Fatalf("Synthesize: %v", err)
		}
		if d := time.Since(start); d < 50*time.Millisecond {
			t.Errorf("returned after %v, want at least the 50ms delay", d)
		}
	})
	t.Run("cancelled is transient", func(t *testing.T) {
		e := New(Options{Delay: time.Minute})
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
		defer cancel()
		_, err := e.Synthesize(ctx, engine.Request{Text: "hi"})
		if !errors.Is(err, engine.ErrUnavailable) || !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("got %v, want an error wrapping ErrUnavailable and DeadlineExceeded", err)
		}
	})
}

func TestName(t *testing.T) {
	if got := New(Options{}).Name(); got != "tone" {
		t.Errorf("got name %q, want tone", got)
	}
}

func BenchmarkSynthesize(b *testing.B) {
	e := New(Options{})
	req := engine.Request{Text: "The quick brown fox jumps over the lazy dog.", Voice: "leo"}
	for b.Loop() {
		if _, err := e.Synthesize(context.Background(), req); err != nil {
			b.Fatal(err)
		}
	}
}
