package engine

import (
	"encoding/binary"
	"errors"
	"testing"
	"time"
)

func TestEncodeParseRoundTrip(t *testing.T) {
	samples := make([]int16, 16000) // one second at 16 kHz
	for i := range samples {
		samples[i] = int16(i)
	}
	b := EncodeWAV(16000, samples)
	w, err := ParseWAV(b)
	if err != nil {
		t.Fatalf("ParseWAV(EncodeWAV(...)): %v", err)
	}
	want := WAVInfo{Format: 1, Channels: 1, SampleRate: 16000, BitsPerSample: 16, DataOffset: 44, DataSize: 32000}
	if w != want {
		t.Errorf("got %+v, want %+v", w, want)
	}
	if d := w.Duration(); d != time.Second {
		t.Errorf("got duration %v, want 1s", d)
	}
	if got := int16(binary.LittleEndian.Uint16(b[44+2*300:])); got != 300 {
		t.Errorf("got sample 300 = %d, want 300", got)
	}
}

func TestParseWAVRejects(t *testing.T) {
	good := EncodeWAV(8000, make([]int16, 10))
	mutate := func(f func(b []byte) []byte) []byte {
		c := append([]byte(nil), good...)
		return f(c)
	}
	tests := []struct {
		name string
		data []byte
	}{
		{"empty", nil},
		{"not riff", mutate(func(b []byte) []byte { copy(b, "RIFX"); return b })},
		{"not wave", mutate(func(b []byte) []byte { copy(b[8:], "AVI "); return b })},
		{"truncated", good[:len(good)-4]},
		{"streamed sizes", mutate(func(b []byte) []byte {
			binary.LittleEndian.PutUint32(b[4:], 0x7ffff024)
			binary.LittleEndian.PutUint32(b[40:], 0x7ffff000)
			return b
		})},
		{"data larger than file", mutate(func(b []byte) []byte { binary.LittleEndian.PutUint32(b[40:], 1000); return b })},
		{"no data chunk", mutate(func(b []byte) []byte {
			copy(b[36:], "junk")
			return b
		})},
		{"zero sample rate", mutate(func(b []byte) []byte { binary.LittleEndian.PutUint32(b[24:], 0); return b })},
		{"short fmt", mutate(func(b []byte) []byte { binary.LittleEndian.PutUint32(b[16:], 8); return b })},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w, err := ParseWAV(tc.data)
			if !errors.Is(err, ErrNotWAV) {
				t.Errorf("got %+v, %v; want an error wrapping ErrNotWAV", w, err)
			}
		})
	}
}

func TestParseWAVSkipsUnknownChunks(t *testing.T) {
	good := EncodeWAV(8000, make([]int16, 8000))
	// Insert an odd-sized LIST chunk (padded to even) between fmt and data.
	list := []byte{'L', 'I', 'S', 'T', 3, 0, 0, 0, 'a', 'b', 'c', 0}
	b := append(append(append([]byte(nil), good[:36]...), list...), good[36:]...)
	binary.LittleEndian.PutUint32(b[4:], uint32(len(b)-8))
	w, err := ParseWAV(b)
	if err != nil {
		t.Fatalf("ParseWAV with LIST chunk: %v", err)
	}
	if w.DataOffset != 44+len(list) || w.Duration() != time.Second {
		t.Errorf("got offset %d duration %v, want %d and 1s", w.DataOffset, w.Duration(), 44+len(list))
	}
}
