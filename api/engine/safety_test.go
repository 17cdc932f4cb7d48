package engine

import (
	"slices"
	"testing"
	"time"
)

func TestSanitizeText(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"plain text unchanged", "Hello, world.", "Hello, world."},
		{"tab newline return kept", "a\tb\nc\rd", "a\tb\nc\rd"},
		{"espeak command prefix", "\x0199999B hello", " 99999B hello"},
		{"NUL does not truncate", "hello\x00world", "hello world"},
		{"other C0", "a\x07b\x1bc\x1fd", "a b c d"},
		{"DEL", "a\x7fb", "a b"},
		{"C1 controls", "a\u0085b\u009bc", "a b c"},
		{"invalid UTF-8 becomes U+FFFD", "a\xffb", "a\uFFFDb"},
		{"non-ASCII letters and emoji kept", "Grüße 😀", "Grüße 😀"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := SanitizeText(tc.in); got != tc.want {
				t.Errorf("SanitizeText(%q): got %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

func TestChildEnv(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		want []string
	}{
		{"path and locale only", map[string]string{"PATH": "/bin", "LANG": "en_US.UTF-8", "SPEECHD_KEYS": "k", "HOME": "/root", "SPEECHD_OPENAI_KEY": "s"}, []string{"PATH=/bin", "LANG=en_US.UTF-8"}},
		{"no locale gives C.UTF-8", map[string]string{"PATH": "/bin"}, []string{"PATH=/bin", "LANG=C.UTF-8"}},
		{"no PATH gives the default", map[string]string{"LC_ALL": "C"}, []string{"PATH=" + defaultPath, "LC_ALL=C"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := ChildEnv(func(k string) string { return tc.env[k] })
			if !slices.Equal(got, tc.want) {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestParameterFactors(t *testing.T) {
	tests := []struct {
		name  string
		v     float64
		speed float64
		gain  float64
	}{
		{"default 0.5 is neutral", 0.5, 1, 1},
		{"zero", 0, 0.7, 0.6},
		{"one", 1, 1.3, 1.4},
		{"clamped below", -3, 0.7, 0.6},
		{"clamped above", 9, 1.3, 1.4},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := SpeedFor(tc.v); !near(got, tc.speed) {
				t.Errorf("SpeedFor(%v): got %v, want %v", tc.v, got, tc.speed)
			}
			if got := GainFor(tc.v); !near(got, tc.gain) {
				t.Errorf("GainFor(%v): got %v, want %v", tc.v, got, tc.gain)
			}
		})
	}
}

func near(a, b float64) bool { return a-b < 1e-9 && b-a < 1e-9 }

func TestPCM16(t *testing.T) {
	a, err := ReadPCM16(EncodeWAV(16000, []int16{1000, -1000, 30000}))
	if err != nil {
		t.Fatalf("ReadPCM16: %v", err)
	}
	var all PCM16
	if err := all.Append(a); err != nil {
		t.Fatalf("Append: %v", err)
	}
	if err := all.Append(a); err != nil {
		t.Fatalf("Append: %v", err)
	}
	all.Gain(1.5)
	w, err := ParseWAV(all.WAV())
	if err != nil {
		t.Fatalf("ParseWAV: %v", err)
	}
	if w.SampleRate != 16000 || w.DataSize != 12 {
		t.Errorf("got %+v, want 16000 Hz and 12 bytes", w)
	}
	if d := all.Duration(); d != 6*time.Second/16000 {
		t.Errorf("got duration %v, want 6 samples", d)
	}
	got, _ := ReadPCM16(all.WAV())
	samples := []int16{}
	for i := 0; i < len(got.Data); i += 2 {
		samples = append(samples, int16(uint16(got.Data[i])|uint16(got.Data[i+1])<<8))
	}
	want := []int16{1500, -1500, 32767, 1500, -1500, 32767} // 45000 clips
	if !slices.Equal(samples, want) {
		t.Errorf("got samples %v, want %v", samples, want)
	}
	other, _ := ReadPCM16(EncodeWAV(8000, []int16{1}))
	if err := all.Append(other); err == nil {
		t.Error("Append of 8000 Hz to 16000 Hz: got no error, want one")
	}
	if _, err := ReadPCM16([]byte("nope")); err == nil {
		t.Error("ReadPCM16 of garbage: got no error, want one")
	}
}
