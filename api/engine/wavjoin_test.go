package engine

import (
	"bytes"
	"errors"
	"github.com/distributeai/asyncspeech/api/engine/internal/wavtest"
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

// sampleBytes are n bytes that differ from part to part (seed), so a join
// that reorders, drops or repeats bytes shows.
func sampleBytes(n int, seed byte) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = seed + byte(i*7)
	}
	return b
}

// dataWAV is a data chunk holding b.
func dataWAV(b ...[]byte) wavtest.Chunk { return wavtest.Chunk{ID: "data", Body: slices.Concat(b...)} }

// wavParts are files as JoinWAV takes them.
func wavParts(files ...[]byte) []Audio {
	parts := make([]Audio, len(files))
	for i, f := range files {
		parts[i] = Audio{ContentType: "audio/wav", Data: f}
	}
	return parts
}

var (
	pcm16mono  = wavtest.Fmt(1, 1, 8000, 16)
	float32fmt = wavtest.Fmt(3, 1, 24000, 32, 0, 0) // cbSize 0, as many writers add
	// 32-bit stereo WAVE_FORMAT_EXTENSIBLE, integer and float.
	extInt32   = wavtest.Fmt(0xfffe, 2, 48000, 32, wavtest.Extensible(32, 3, 1)...)
	extFloat32 = wavtest.Fmt(0xfffe, 2, 48000, 32, wavtest.Extensible(32, 3, 3)...)
)

// TestJoinWAVHeaders: the joined file's header describes the joined
// samples, whatever the format.
func TestJoinWAVHeaders(t *testing.T) {
	a, b, c := sampleBytes(600, 1), sampleBytes(600, 2), sampleBytes(600, 3)
	tests := []struct {
		name  string
		parts [][]byte
		want  []byte
	}{
		{"pcm needs no fact", [][]byte{wavtest.WAV(pcm16mono, dataWAV(a[:20])), wavtest.WAV(pcm16mono, dataWAV(b[:30]))},
			wavtest.WAV(pcm16mono, dataWAV(a[:20], b[:30]))},
		// Float (and every format but integer PCM) must say how many
		// frames it holds; the first part's count is only its own.
		{"fact counts the joined frames", [][]byte{
			wavtest.WAV(float32fmt, wavtest.Fact(50), dataWAV(a[:200])),
			wavtest.WAV(float32fmt, wavtest.Fact(70), dataWAV(b[:280])),
		}, wavtest.WAV(float32fmt, wavtest.Fact(120), dataWAV(a[:200], b[:280]))},
		{"fact of later parts is not needed", [][]byte{
			wavtest.WAV(float32fmt, wavtest.Fact(5), dataWAV(a[:20])),
			wavtest.WAV(float32fmt, dataWAV(b[:40])),
			wavtest.WAV(float32fmt, wavtest.Fact(1), dataWAV(c[:4])),
		}, wavtest.WAV(float32fmt, wavtest.Fact(16), dataWAV(a[:20], b[:40], c[:4]))},
		{"fact after a LIST in the first part", [][]byte{
			wavtest.WAV(wavtest.Fmt(3, 2, 48000, 32, 0, 0), wavtest.Chunk{ID: "LIST", Body: []byte("abc")}, wavtest.Fact(2), dataWAV(a[:16])),
			wavtest.WAV(wavtest.Fmt(3, 2, 48000, 32, 0, 0), wavtest.Fact(3), dataWAV(b[:24])),
		}, wavtest.WAV(wavtest.Fmt(3, 2, 48000, 32, 0, 0), wavtest.Chunk{ID: "LIST", Body: []byte("abc")}, wavtest.Fact(5), dataWAV(a[:16], b[:24]))},
		// A part that ends inside a frame would shift every later part by
		// a few bytes, across channels and bytes of a sample: noise.
		{"partial frame of a middle part dropped", [][]byte{
			wavtest.WAV(wavtest.Fmt(1, 2, 22050, 16), dataWAV(a[:40])),
			wavtest.WAV(wavtest.Fmt(1, 2, 22050, 16), dataWAV(b[:42])),
			wavtest.WAV(wavtest.Fmt(1, 2, 22050, 16), dataWAV(c[:8])),
		}, wavtest.WAV(wavtest.Fmt(1, 2, 22050, 16), dataWAV(a[:40], b[:40], c[:8]))},
		{"partial frame of the first and last parts dropped", [][]byte{
			wavtest.WAV(wavtest.Fmt(1, 1, 16000, 24), dataWAV(a[:8])),
			wavtest.WAV(wavtest.Fmt(1, 1, 16000, 24), dataWAV(b[:7])),
		}, wavtest.WAV(wavtest.Fmt(1, 1, 16000, 24), dataWAV(a[:6], b[:6]))},
		{"part shorter than a frame dropped", [][]byte{
			wavtest.WAV(wavtest.Fmt(1, 2, 22050, 16), dataWAV(a[:40])),
			wavtest.WAV(wavtest.Fmt(1, 2, 22050, 16), dataWAV(b[:3])),
			wavtest.WAV(wavtest.Fmt(1, 2, 22050, 16), dataWAV(c[:8])),
		}, wavtest.WAV(wavtest.Fmt(1, 2, 22050, 16), dataWAV(a[:40], c[:8]))},
		{"fact counts whole frames", [][]byte{
			wavtest.WAV(wavtest.Fmt(3, 2, 48000, 32, 0, 0), wavtest.Fact(2), dataWAV(a[:18])),
			wavtest.WAV(wavtest.Fmt(3, 2, 48000, 32, 0, 0), wavtest.Fact(3), dataWAV(b[:24])),
		}, wavtest.WAV(wavtest.Fmt(3, 2, 48000, 32, 0, 0), wavtest.Fact(5), dataWAV(a[:16], b[:24]))},
		// RIFF chunks are word-aligned: odd data is followed by a zero pad
		// byte, counted in the RIFF size and not in the data size.
		{"odd 8-bit data padded", [][]byte{
			wavtest.WAV(wavtest.Fmt(1, 1, 8000, 8), dataWAV(a[:3])),
			wavtest.WAV(wavtest.Fmt(1, 1, 8000, 8), dataWAV(b[:4])),
		}, wavtest.WAV(wavtest.Fmt(1, 1, 8000, 8), dataWAV(a[:3], b[:4]))},
		{"odd 24-bit mono data padded after a partial frame", [][]byte{
			wavtest.WAV(wavtest.Fmt(1, 1, 16000, 24), wavtest.Chunk{ID: "LIST", Body: []byte("abc")}, dataWAV(a[:9])),
			wavtest.WAV(wavtest.Fmt(1, 1, 16000, 24), dataWAV(b[:7])),
		}, wavtest.WAV(wavtest.Fmt(1, 1, 16000, 24), wavtest.Chunk{ID: "LIST", Body: []byte("abc")}, dataWAV(a[:9], b[:6]))},
		{"odd data after a chunk-after-data padded, the chunk dropped", [][]byte{
			wavtest.WAV(wavtest.Fmt(1, 1, 8000, 8), dataWAV(a[:5]), wavtest.Chunk{ID: "LIST", Body: []byte("INFOab")}),
			wavtest.WAV(wavtest.Fmt(1, 1, 8000, 8), dataWAV(b[:2])),
		}, wavtest.WAV(wavtest.Fmt(1, 1, 8000, 8), dataWAV(a[:5], b[:2]))},
		{"parts' own pad bytes not joined", [][]byte{
			wavtest.WAV(wavtest.Fmt(1, 1, 8000, 8), dataWAV(a[:3])),
			wavtest.WAV(wavtest.Fmt(1, 1, 8000, 8), dataWAV(b[:3])),
		}, wavtest.WAV(wavtest.Fmt(1, 1, 8000, 8), dataWAV(a[:3], b[:3]))},
		{"extensible float parts with fact", [][]byte{
			wavtest.WAV(extFloat32, wavtest.Fact(2), dataWAV(a[:16])),
			wavtest.WAV(extFloat32, wavtest.Fact(4), dataWAV(b[:32])),
		}, wavtest.WAV(extFloat32, wavtest.Fact(6), dataWAV(a[:16], b[:32]))},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := JoinWAV(wavParts(tc.parts...))
			if err != nil {
				t.Fatalf("JoinWAV: %v", err)
			}
			if !bytes.Equal(got.Data, tc.want) {
				i := 0
				for i < min(len(got.Data), len(tc.want)) && got.Data[i] == tc.want[i] {
					i++
				}
				t.Errorf("got %d bytes, want %d; first difference at byte %d:\ngot  % x\nwant % x",
					len(got.Data), len(tc.want), i, got.Data[i:min(i+16, len(got.Data))], tc.want[i:min(i+16, len(tc.want))])
			}
			if _, err := ParseWAV(got.Data); err != nil {
				t.Errorf("ParseWAV of the joined file: %v", err)
			}
		})
	}
}

// TestJoinWAVRefuses: parts that cannot make one playable file are an error
// that names the part.
func TestJoinWAVRefuses(t *testing.T) {
	a, b := sampleBytes(40, 1), sampleBytes(40, 2)
	tests := []struct {
		name  string
		parts [][]byte
		want  string
		is    error // if not nil, the error wraps it
	}{
		{"sample rates differ", [][]byte{wavtest.WAV(pcm16mono, dataWAV(a)), wavtest.WAV(wavtest.Fmt(1, 1, 16000, 16), dataWAV(b))},
			"joining 2 audio parts: part 1 is 16000 Hz/16 bit/1 ch, part 0 is 8000 Hz/16 bit/1 ch", nil},
		{"fact too short to count", [][]byte{
			wavtest.WAV(float32fmt, wavtest.Chunk{ID: "fact", Body: []byte{1, 0}}, dataWAV(a)),
			wavtest.WAV(float32fmt, wavtest.Fact(10), dataWAV(b)),
		}, "joining 2 audio parts: part 0 (audio/wav): not a well-formed WAV file: fact chunk is 2 bytes, want 4", ErrNotWAV},
		// The format tag of both is WAVE_FORMAT_EXTENSIBLE, and every field
		// but the sub-format agrees: 32-bit integers read as floats (or
		// the other way round) are noise.
		{"extensible sub-formats differ", [][]byte{
			wavtest.WAV(extInt32, dataWAV(a)),
			wavtest.WAV(extInt32, dataWAV(b)),
			wavtest.WAV(extFloat32, wavtest.Fact(5), dataWAV(b)),
		}, "joining 3 audio parts: part 2 is WAVE_FORMAT_EXTENSIBLE with sub-format 00000003-0000-0010-8000-00aa00389b71 (IEEE float), " +
			"part 0 with 00000001-0000-0010-8000-00aa00389b71 (integer PCM)", nil},
		{"extensible sub-format not a known tag", [][]byte{
			wavtest.WAV(wavtest.Fmt(0xfffe, 1, 8000, 16, append(wavtest.Extensible(16, 4, 1)[:8], 0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf0, 1, 2, 3, 4, 5, 6, 7, 8)...), dataWAV(a)),
			wavtest.WAV(wavtest.Fmt(0xfffe, 1, 8000, 16, wavtest.Extensible(16, 4, 1)...), dataWAV(b)),
		}, "joining 2 audio parts: part 1 is WAVE_FORMAT_EXTENSIBLE with sub-format 00000001-0000-0010-8000-00aa00389b71 (integer PCM), " +
			"part 0 with 78563412-bc9a-f0de-0102-030405060708", nil},
		{"extensible fmt without a sub-format", [][]byte{
			wavtest.WAV(extInt32, dataWAV(a)),
			wavtest.WAV(wavtest.Fmt(0xfffe, 2, 48000, 32, 0, 0), dataWAV(b)),
		}, "joining 2 audio parts: part 1 (audio/wav): not a well-formed WAV file: WAVE_FORMAT_EXTENSIBLE fmt chunk is 18 bytes, want at least 40", ErrNotWAV},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := JoinWAV(wavParts(tc.parts...))
			if err == nil || err.Error() != tc.want {
				t.Fatalf("got %d bytes, error %v; want error %q", len(got.Data), err, tc.want)
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("error %v does not wrap %v", err, tc.is)
			}
		})
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
