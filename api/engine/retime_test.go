package engine

import (
	"math"
	"testing"
)

// sine is one channel of a sine of freq Hz at amplitude amp, n samples long.
func sine(rate, n int, freq, amp float64) PCM16 {
	s := make([]int16, n)
	for i := range s {
		s[i] = int16(math.Round(amp * math.Sin(2*math.Pi*freq*float64(i)/float64(rate))))
	}
	p, err := ReadPCM16(EncodeWAV(rate, s))
	if err != nil {
		panic(err)
	}
	return p
}

func samplesOf(p PCM16) []float64 {
	s := make([]float64, len(p.Data)/2)
	for i := range s {
		s[i] = float64(int16(uint16(p.Data[2*i]) | uint16(p.Data[2*i+1])<<8))
	}
	return s
}

// frequency counts upward zero crossings between the first and the last in
// the middle of s (away from the edges, where the interpolation has fewer
// neighbours) and divides by the time between them.
func frequency(s []float64, rate int) float64 {
	s = s[len(s)/10 : len(s)*9/10]
	first, last, n := -1.0, -1.0, 0
	for i := 1; i < len(s); i++ {
		if s[i-1] < 0 && s[i] >= 0 {
			at := float64(i-1) + s[i-1]/(s[i-1]-s[i]) // linear interpolation of the crossing
			if first < 0 {
				first = at
			} else {
				n++
			}
			last = at
		}
	}
	if n == 0 {
		return 0
	}
	return float64(n) / ((last - first) / float64(rate))
}

func rms(s []float64) float64 {
	s = s[len(s)/10 : len(s)*9/10]
	var sum float64
	for _, v := range s {
		sum += v * v
	}
	return math.Sqrt(sum / float64(len(s)))
}

func TestRetime(t *testing.T) {
	const rate, n, freq, amp = 16000, 16000, 440.0, 10000.0
	tests := []struct {
		name      string
		stretch   float64
		wantLen   int
		wantFreq  float64
		wantRMS   float64 // fraction of the input's
		unchanged bool
	}{
		{name: "lower by 0.80 (leo)", stretch: 1 / 0.80, wantLen: 20000, wantFreq: 440 * 0.80, wantRMS: 1},
		{name: "lower by 0.85", stretch: 1 / 0.85, wantLen: 18824, wantFreq: 440 * 0.85, wantRMS: 1},
		{name: "lower by 0.75", stretch: 1 / 0.75, wantLen: 21333, wantFreq: 440 * 0.75, wantRMS: 1},
		{name: "twice as long", stretch: 2, wantLen: 32000, wantFreq: 220, wantRMS: 1},
		{name: "raise by 1.25", stretch: 0.8, wantLen: 12800, wantFreq: 550, wantRMS: 1},
		{name: "one", stretch: 1, unchanged: true},
		{name: "zero", stretch: 0, unchanged: true},
		{name: "negative", stretch: -2, unchanged: true},
		{name: "NaN", stretch: math.NaN(), unchanged: true},
	}
	in := sine(rate, n, freq, amp)
	inRMS := rms(samplesOf(in))
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out := in.Retime(tc.stretch)
			if out.SampleRate != rate || out.Channels != 1 {
				t.Fatalf("got %d Hz × %d, want %d Hz × 1", out.SampleRate, out.Channels, rate)
			}
			s := samplesOf(out)
			if tc.unchanged {
				if len(s) != n || &out.Data[0] != &in.Data[0] {
					t.Errorf("got %d new samples, want the input unchanged", len(s))
				}
				return
			}
			if len(s) != tc.wantLen {
				t.Errorf("got %d samples, want %d", len(s), tc.wantLen)
			}
			if f := frequency(s, rate); math.Abs(f-tc.wantFreq) > tc.wantFreq*0.002 {
				t.Errorf("got %.2f Hz, want %.2f Hz", f, tc.wantFreq)
			}
			if r := rms(s) / inRMS; math.Abs(r-tc.wantRMS) > 0.02 {
				t.Errorf("got RMS %.3f of the input's, want %.3f", r, tc.wantRMS)
			}
		})
	}
}

// Raising the pitch must not fold content above the new Nyquist frequency
// back into the band: a 7 kHz tone at 16 kHz raised by 1.25 (to 8.75 kHz,
// above Nyquist) is filtered out instead of aliasing to 7.25 kHz.
func TestRetimeFiltersWhenRaising(t *testing.T) {
	in := sine(16000, 16000, 7000, 10000)
	out := samplesOf(in.Retime(0.8))
	if r := rms(out) / rms(samplesOf(in)); r > 0.05 {
		t.Errorf("got RMS %.3f of the input's, want under 0.05 (filtered, not aliased)", r)
	}
}

// Interleaved channels are retimed each on its own.
func TestRetimeStereo(t *testing.T) {
	l, r := sine(16000, 8000, 300, 8000), sine(16000, 8000, 500, 8000)
	st := PCM16{SampleRate: 16000, Channels: 2, Data: make([]byte, 0, 2*len(l.Data))}
	for i := 0; i < len(l.Data); i += 2 {
		st.Data = append(st.Data, l.Data[i], l.Data[i+1], r.Data[i], r.Data[i+1])
	}
	out := st.Retime(1.25)
	s := samplesOf(out)
	if len(s) != 2*10000 {
		t.Fatalf("got %d samples, want %d (10000 frames × 2)", len(s), 20000)
	}
	var left, right []float64
	for i := 0; i < len(s); i += 2 {
		left, right = append(left, s[i]), append(right, s[i+1])
	}
	for _, c := range []struct {
		name string
		s    []float64
		want float64
	}{{"left", left, 240}, {"right", right, 400}} {
		if f := frequency(c.s, 16000); math.Abs(f-c.want) > c.want*0.002 {
			t.Errorf("%s: got %.2f Hz, want %.2f Hz", c.name, f, c.want)
		}
	}
}

func BenchmarkRetime(b *testing.B) {
	in := sine(32000, 32000*10, 200, 8000) // 10 s at festival HTS's rate
	b.SetBytes(int64(len(in.Data)))
	for b.Loop() {
		in.Retime(1 / 0.80)
	}
}
