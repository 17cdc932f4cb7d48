package engine

import "math"

// Retime plays p's samples stretch times as long at the same sample rate,
// like tape played slower: every frequency in the sound (pitch and formants
// alike) is divided by stretch. stretch > 1 lowers and slows, < 1 raises and
// speeds up; 1, a non-positive or NaN stretch returns p unchanged. The result
// has round(frames × stretch) frames.
//
// The samples are interpolated with a Blackman-windowed sinc of
// retimeTaps input samples either side, its cut-off at the lower of the two
// Nyquist frequencies so raising the pitch does not fold content above the
// new Nyquist back into the band. The kernel is tabulated once per call
// (retimePhases points per input sample, linearly interpolated between), so
// minutes of audio cost a few hundred milliseconds, not a sin per tap.
func (p PCM16) Retime(stretch float64) PCM16 {
	ch := max(p.Channels, 1)
	frames := len(p.Data) / (2 * ch)
	if !(stretch > 0) || stretch == 1 || frames == 0 || math.IsInf(stretch, 0) {
		return p
	}
	cut := min(1, stretch) // cut-off as a fraction of the input's Nyquist
	half := float64(retimeTaps) / cut
	tab := retimeKernel(cut)
	outFrames := int(math.Round(float64(frames) * stretch))
	out := make([]byte, outFrames*ch*2)
	in := make([]float64, frames)
	for c := 0; c < ch; c++ {
		for i := range in {
			o := 2 * (i*ch + c)
			in[i] = float64(int16(uint16(p.Data[o]) | uint16(p.Data[o+1])<<8))
		}
		for j := range outFrames {
			t := float64(j) / stretch // where output frame j lies in the input
			lo := max(int(math.Ceil(t-half)), 0)
			hi := min(int(math.Floor(t+half)), frames-1)
			var acc float64
			for k := lo; k <= hi; k++ {
				// Position in the table: |distance| in input samples
				// scaled to the kernel's width.
				x := math.Abs(t-float64(k)) * cut * retimePhases
				i := int(x)
				if i+1 >= len(tab) {
					continue
				}
				fr := x - float64(i)
				acc += in[k] * (tab[i] + fr*(tab[i+1]-tab[i]))
			}
			v := int16(math.Round(min(max(acc, math.MinInt16), math.MaxInt16)))
			o := 2 * (j*ch + c)
			out[o], out[o+1] = byte(uint16(v)), byte(uint16(v)>>8)
		}
	}
	return PCM16{SampleRate: p.SampleRate, Channels: p.Channels, Data: out}
}

// Retime's kernel: taps either side (at the cut-off's sample spacing) and
// table resolution.
const (
	retimeTaps   = 16
	retimePhases = 256
)

// retimeKernel tabulates cut·sinc(x)·blackman(x/taps) for x = 0 …
// taps in steps of 1/retimePhases (the kernel is even, so only x ≥ 0 is
// stored); x is the distance in units of the cut-off's sample spacing.
func retimeKernel(cut float64) []float64 {
	n := retimeTaps*retimePhases + 1
	tab := make([]float64, n+1) // one zero past the end for interpolation
	for i := range n {
		x := float64(i) / retimePhases
		s := 1.0
		if x != 0 {
			s = math.Sin(math.Pi*x) / (math.Pi * x)
		}
		w := 0.42 + 0.5*math.Cos(math.Pi*x/retimeTaps) + 0.08*math.Cos(2*math.Pi*x/retimeTaps)
		tab[i] = cut * s * w
	}
	return tab
}
