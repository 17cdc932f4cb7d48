package enginetest

import (
	"math"
	"sort"

	"github.com/distributeai/asyncspeech/api/engine"
)

// Pitch is the fundamental frequency of the voiced parts of speech.
type Pitch struct {
	Median, Mean float64 // Hz, over voiced frames
	Voiced       int     // frames found voiced (of 40 ms, every 10 ms)
}

// F0 estimates the pitch of mono speech by autocorrelation, the way pitch
// trackers of the Boersma kind start: 40 ms frames every 10 ms; frames
// quieter than a twentieth of the loudest are silence; in the others the
// normalised autocorrelation is searched over periods of 60–400 Hz, and a
// frame is voiced when its best peak reaches 0.6 (mono only). Among the peaks within 10 %
// of the best the shortest period wins, so a period twice the true one (an
// octave error, common with autocorrelation) is not chosen.
func F0(p engine.PCM16) Pitch {
	// Above 16 kHz, groups of samples are averaged down to 16 kHz or a
	// little more (a crude low-pass, ample for pitches under 400 Hz): the
	// search costs the square of the rate, and the peak is interpolated
	// between samples anyway.
	k := max(p.SampleRate/16000, 1)
	s := make([]float64, len(p.Data)/2/k)
	for i := range s {
		for j := range k {
			o := 2 * (i*k + j)
			s[i] += float64(int16(uint16(p.Data[o]) | uint16(p.Data[o+1])<<8))
		}
		s[i] /= float64(k)
	}
	rate := float64(p.SampleRate) / float64(k)
	n, hop := int(0.04*rate), int(0.01*rate)
	minLag, maxLag := int(rate/400), int(rate/60)
	type frame struct{ at, energy float64 }
	var frames []frame
	var loudest float64
	for at := 0; at+n+maxLag <= len(s); at += hop {
		var e float64
		for _, v := range s[at : at+n] {
			e += v * v
		}
		frames = append(frames, frame{float64(at), e})
		loudest = max(loudest, e)
	}
	var f0s []float64
	r := make([]float64, maxLag+2)
	for _, fr := range frames {
		if fr.energy < loudest/20 {
			continue
		}
		x := s[int(fr.at) : int(fr.at)+n+maxLag+1]
		best := 0.0
		for lag := minLag; lag <= maxLag+1; lag++ {
			var xy, yy float64
			for i := range n {
				xy += x[i] * x[i+lag]
				yy += x[i+lag] * x[i+lag]
			}
			r[lag] = xy / math.Sqrt(fr.energy*yy+1e-9)
			if lag <= maxLag {
				best = max(best, r[lag])
			}
		}
		if best < 0.6 {
			continue
		}
		for lag := minLag + 1; lag <= maxLag; lag++ {
			if r[lag] >= 0.9*best && r[lag] >= r[lag-1] && r[lag] >= r[lag+1] {
				// Parabolic interpolation of the peak between samples.
				a, b, c := r[lag-1], r[lag], r[lag+1]
				d := 0.0
				if den := a - 2*b + c; den != 0 {
					d = 0.5 * (a - c) / den
				}
				f0s = append(f0s, rate/(float64(lag)+d))
				break
			}
		}
	}
	if len(f0s) == 0 {
		return Pitch{}
	}
	var sum float64
	for _, f := range f0s {
		sum += f
	}
	sort.Float64s(f0s)
	return Pitch{Median: f0s[len(f0s)/2], Mean: sum / float64(len(f0s)), Voiced: len(f0s)}
}
