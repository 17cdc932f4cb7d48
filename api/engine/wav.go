package engine

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"
)

// WAVInfo describes the PCM stream inside a RIFF/WAVE file.
type WAVInfo struct {
	// Format is the WAVE format tag (1 = integer PCM).
	Format        uint16
	Channels      int
	SampleRate    int
	BitsPerSample int
	// DataOffset is where the sample bytes start; DataSize is how many there are.
	DataOffset int
	DataSize   int
}

// Duration is the playing time of the samples.
func (w WAVInfo) Duration() time.Duration {
	frame := w.Channels * w.BitsPerSample / 8
	if frame <= 0 || w.SampleRate <= 0 {
		return 0
	}
	frames := int64(w.DataSize / frame)
	return time.Duration(frames) * time.Second / time.Duration(w.SampleRate)
}

// ErrNotWAV reports bytes that are not a well-formed RIFF/WAVE file.
var ErrNotWAV = errors.New("not a well-formed WAV file")

// ParseWAV reads the RIFF header, the fmt chunk and the data chunk of b. It is
// strict on purpose: engines and tests use it to prove the audio they hand to
// clients is playable, so a data chunk that claims more bytes than the file
// holds (as a streamed WAV does before its sizes are patched) is an error.
func ParseWAV(b []byte) (WAVInfo, error) {
	var w WAVInfo
	if len(b) < 12 || string(b[0:4]) != "RIFF" || string(b[8:12]) != "WAVE" {
		return w, fmt.Errorf("%w: missing RIFF/WAVE signature in %d bytes", ErrNotWAV, len(b))
	}
	if riff := int64(binary.LittleEndian.Uint32(b[4:8])); riff+8 != int64(len(b)) {
		return w, fmt.Errorf("%w: RIFF size %d does not match file size %d", ErrNotWAV, riff, len(b))
	}
	haveFmt := false
	for off := 12; off+8 <= len(b); {
		id := string(b[off : off+4])
		size := int(binary.LittleEndian.Uint32(b[off+4 : off+8]))
		body := off + 8
		if size < 0 || size > len(b)-body {
			return w, fmt.Errorf("%w: chunk %q at %d declares %d bytes, only %d present", ErrNotWAV, id, off, size, len(b)-body)
		}
		switch id {
		case "fmt ":
			if size < 16 {
				return w, fmt.Errorf("%w: fmt chunk is %d bytes, want at least 16", ErrNotWAV, size)
			}
			f := b[body : body+size]
			w.Format = binary.LittleEndian.Uint16(f[0:2])
			w.Channels = int(binary.LittleEndian.Uint16(f[2:4]))
			w.SampleRate = int(binary.LittleEndian.Uint32(f[4:8]))
			w.BitsPerSample = int(binary.LittleEndian.Uint16(f[14:16]))
			if w.Channels == 0 || w.SampleRate == 0 || w.BitsPerSample == 0 {
				return w, fmt.Errorf("%w: fmt chunk has %d channels, %d Hz, %d bits", ErrNotWAV, w.Channels, w.SampleRate, w.BitsPerSample)
			}
			haveFmt = true
		case "data":
			if !haveFmt {
				return w, fmt.Errorf("%w: data chunk before fmt chunk", ErrNotWAV)
			}
			w.DataOffset, w.DataSize = body, size
			return w, nil
		}
		// Chunks are padded to an even length.
		off = body + size + size%2
	}
	return w, fmt.Errorf("%w: no data chunk", ErrNotWAV)
}

// wavHeaderSize is the length of the canonical header putPCM16Header writes.
const wavHeaderSize = 44

// EncodeWAV wraps 16-bit mono PCM samples in a canonical 44-byte WAV header.
func EncodeWAV(sampleRate int, samples []int16) []byte {
	dataSize := len(samples) * 2
	b := make([]byte, wavHeaderSize+dataSize)
	putPCM16Header(b, sampleRate, 1, dataSize)
	for i, s := range samples {
		binary.LittleEndian.PutUint16(b[wavHeaderSize+2*i:], uint16(s))
	}
	return b
}

// putPCM16Header writes the canonical 44-byte header of 16-bit integer PCM
// with dataSize bytes of samples into b[:44].
func putPCM16Header(b []byte, sampleRate, channels, dataSize int) {
	copy(b[0:4], "RIFF")
	binary.LittleEndian.PutUint32(b[4:8], uint32(wavHeaderSize-8+dataSize))
	copy(b[8:12], "WAVE")
	copy(b[12:16], "fmt ")
	binary.LittleEndian.PutUint32(b[16:20], 16)
	binary.LittleEndian.PutUint16(b[20:22], 1) // integer PCM
	binary.LittleEndian.PutUint16(b[22:24], uint16(channels))
	binary.LittleEndian.PutUint32(b[24:28], uint32(sampleRate))
	binary.LittleEndian.PutUint32(b[28:32], uint32(sampleRate*2*channels)) // byte rate
	binary.LittleEndian.PutUint16(b[32:34], uint16(2*channels))            // block align
	binary.LittleEndian.PutUint16(b[34:36], 16)                            // bits per sample
	copy(b[36:40], "data")
	binary.LittleEndian.PutUint32(b[40:44], uint32(dataSize))
}
