package engine

import (
	"errors"
	"slices"
	"testing"
)

func TestJoinWAV(t *testing.T) {
	a, b := []int16{1, -2, 3}, []int16{400, -500}
	first := EncodeWAV(16000, a)
	kept := slices.Clone(first)
	got, err := JoinWAV([]Audio{{ContentType: "audio/wav", Data: first}, {ContentType: "audio/x-wav", Data: EncodeWAV(16000, b)}})
	if err != nil {
		t.Fatalf("JoinWAV: %v", err)
	}
	if want := EncodeWAV(16000, append(a, b...)); got.ContentType != "audio/wav" || string(got.Data) != string(want) {
		t.Errorf("got %s % x, want audio/wav % x", got.ContentType, got.Data, want)
	}
	got.Data[44] ^= 0xff
	if string(first) != string(kept) {
		t.Error("writing to the joined audio changed the first part: it must be a copy")
	}

	if _, err := JoinWAV(nil); !errors.Is(err, ErrNotWAV) {
		t.Errorf("no parts: got %v, want ErrNotWAV", err)
	}
	mismatch := []Audio{{Data: EncodeWAV(16000, a)}, {Data: EncodeWAV(8000, b)}}
	if _, err := JoinWAV(mismatch); err == nil {
		t.Error("16 kHz and 8 kHz parts: got no error, want one")
	}
	if _, err := JoinWAV([]Audio{{Data: first}, {ContentType: "audio/mpeg", Data: []byte("ID3")}}); !errors.Is(err, ErrNotWAV) {
		t.Errorf("an mp3 part: got %v, want ErrNotWAV", err)
	}
}

// wavBySamples is PCM16.WAV as it was written until it copied the bytes:
// decode every sample, EncodeWAV them as mono, then patch the fields that
// differ for more channels. It is the oracle WAV's output must match.
func wavBySamples(p PCM16) []byte {
	samples := make([]int16, len(p.Data)/2)
	for i := range samples {
		samples[i] = int16(uint16(p.Data[2*i]) | uint16(p.Data[2*i+1])<<8)
	}
	b := EncodeWAV(p.SampleRate, samples)
	if p.Channels > 1 {
		b[22] = byte(p.Channels)
		rate := p.SampleRate * 2 * p.Channels
		b[28], b[29], b[30], b[31] = byte(rate), byte(rate>>8), byte(rate>>16), byte(rate>>24)
		b[32] = byte(2 * p.Channels)
	}
	return b
}

func TestPCM16WAVIsUnchanged(t *testing.T) {
	data := make([]byte, 4001)
	for i := range data {
		data[i] = byte(i * 31)
	}
	tests := []struct {
		name string
		p    PCM16
	}{
		{"mono", PCM16{SampleRate: 16000, Channels: 1, Data: data[:4000]}},
		{"stereo", PCM16{SampleRate: 22050, Channels: 2, Data: data[:4000]}},
		{"six channels", PCM16{SampleRate: 48000, Channels: 6, Data: data[:3996]}},
		{"odd byte left out", PCM16{SampleRate: 8000, Channels: 1, Data: data}},
		{"no samples", PCM16{SampleRate: 16000, Channels: 1}},
		{"zero value", PCM16{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			kept := slices.Clone(tc.p.Data)
			got, want := tc.p.WAV(), wavBySamples(tc.p)
			if string(got) != string(want) {
				t.Errorf("got %d bytes, header % x; want %d bytes, header % x", len(got), got[:min(44, len(got))], len(want), want[:min(44, len(want))])
			}
			if string(tc.p.Data) != string(kept) {
				t.Error("WAV changed the samples it wraps")
			}
		})
	}
}

func BenchmarkPCM16WAV(b *testing.B) {
	p := PCM16{SampleRate: 16000, Channels: 1, Data: make([]byte, 60*16000*2)} // a minute
	b.ReportAllocs()
	for b.Loop() {
		p.WAV()
	}
}
