package enginetest

import (
	"math"
	"testing"

	"github.com/distributeai/asyncspeech/api/engine"
)

// voiceLike is a harmonic-rich tone of f0 Hz (ten harmonics falling 6 dB an
// octave, like a glottal source) with a second of silence after each second
// of sound.
func voiceLike(rate int, f0 float64, seconds int) engine.PCM16 {
	s := make([]int16, rate*seconds*2)
	for i := range rate * seconds {
		sec := i / rate
		t := float64(i) / float64(rate)
		var v float64
		for h := 1; h <= 10; h++ {
			v += math.Sin(2*math.Pi*f0*float64(h)*t+float64(h)) / float64(h)
		}
		s[2*sec*rate+i%rate] = int16(4000 * v)
	}
	p, err := engine.ReadPCM16(engine.EncodeWAV(rate, s))
	if err != nil {
		panic(err)
	}
	return p
}

func TestF0(t *testing.T) {
	tests := []struct {
		name string
		rate int
		f0   float64
	}{
		{"male-like 110 Hz at 16 kHz", 16000, 110},
		{"female-like 210 Hz at 32 kHz", 32000, 210},
		{"low 70 Hz at 16 kHz", 16000, 70},
		{"high 350 Hz at 22.05 kHz", 22050, 350},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := F0(voiceLike(tc.rate, tc.f0, 2))
			if math.Abs(p.Median-tc.f0) > tc.f0*0.01 || math.Abs(p.Mean-tc.f0) > tc.f0*0.02 {
				t.Errorf("got median %.1f Hz, mean %.1f Hz, want %.1f Hz", p.Median, p.Mean, tc.f0)
			}
			// Two seconds of sound in four: about 200 of ~400 frames voiced.
			if p.Voiced < 150 || p.Voiced > 230 {
				t.Errorf("got %d voiced frames, want about 200 (silence is not voiced)", p.Voiced)
			}
		})
	}
	if p := F0(engine.PCM16{SampleRate: 16000, Channels: 1, Data: make([]byte, 32000)}); p.Voiced != 0 {
		t.Errorf("got %+v for silence, want nothing voiced", p)
	}
}
