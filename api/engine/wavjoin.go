package engine

import (
	"fmt"
	"math"
	"time"
)

// PCM16 is the 16-bit integer PCM inside a WAV file, as engines that run a
// program several times (one run per sentence group) collect it.
type PCM16 struct {
	SampleRate int
	Channels   int
	Data       []byte // little-endian samples
}

// ReadPCM16 takes the samples out of a 16-bit integer PCM WAV file.
func ReadPCM16(wav []byte) (PCM16, error) {
	w, err := ParseWAV(wav)
	if err != nil {
		return PCM16{}, err
	}
	if w.Format != 1 || w.BitsPerSample != 16 {
		return PCM16{}, fmt.Errorf("%w: format %d with %d bits, want 16-bit integer PCM", ErrNotWAV, w.Format, w.BitsPerSample)
	}
	return PCM16{SampleRate: w.SampleRate, Channels: w.Channels, Data: wav[w.DataOffset : w.DataOffset+w.DataSize]}, nil
}

// Duration is the playing time of the samples.
func (p PCM16) Duration() time.Duration {
	return WAVInfo{Format: 1, Channels: p.Channels, SampleRate: p.SampleRate, BitsPerSample: 16, DataSize: len(p.Data)}.Duration()
}

// Append adds more's samples after p's; both must have one format.
func (p *PCM16) Append(more PCM16) error {
	if p.SampleRate == 0 {
		p.SampleRate, p.Channels = more.SampleRate, more.Channels
	}
	if more.SampleRate != p.SampleRate || more.Channels != p.Channels {
		return fmt.Errorf("%w: cannot join %d Hz × %d to %d Hz × %d", ErrNotWAV, more.SampleRate, more.Channels, p.SampleRate, p.Channels)
	}
	p.Data = append(p.Data, more.Data...)
	return nil
}

// Gain multiplies every sample by g, clipping at full scale.
func (p PCM16) Gain(g float64) {
	if g == 1 {
		return
	}
	for i := 0; i+1 < len(p.Data); i += 2 {
		s := float64(int16(uint16(p.Data[i]) | uint16(p.Data[i+1])<<8))
		v := int16(math.Round(min(max(s*g, math.MinInt16), math.MaxInt16)))
		p.Data[i], p.Data[i+1] = byte(uint16(v)), byte(uint16(v)>>8)
	}
}

// WAV wraps the samples in a canonical 44-byte header.
func (p PCM16) WAV() []byte {
	samples := make([]int16, len(p.Data)/2)
	for i := range samples {
		samples[i] = int16(uint16(p.Data[2*i]) | uint16(p.Data[2*i+1])<<8)
	}
	b := EncodeWAV(p.SampleRate, samples)
	if p.Channels > 1 { // EncodeWAV writes mono; fix the two fields that differ
		b[22] = byte(p.Channels)
		rate := p.SampleRate * 2 * p.Channels
		b[28], b[29], b[30], b[31] = byte(rate), byte(rate>>8), byte(rate>>16), byte(rate>>24)
		b[32] = byte(2 * p.Channels)
	}
	return b
}
