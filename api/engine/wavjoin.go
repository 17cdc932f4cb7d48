package engine

import (
	"encoding/binary"
	"fmt"
	"math"
	"time"
)

// JoinWAV concatenates the samples of WAV parts that share one format (format
// tag, channels, sample rate, bits per sample and, for
// WAVE_FORMAT_EXTENSIBLE, sub-format) into one WAV. The result keeps the
// first part's header, every chunk before its samples, with the sizes
// patched: the parts come from servers that may send any format ParseWAV
// reads (float, 24-bit, WAVE_FORMAT_EXTENSIBLE) and metadata such as LIST,
// which a rewritten header would lose or misstate. Chunks after the first
// part's samples, and the later parts' headers, are dropped. Patched are
// the RIFF and data sizes and the frame count of a fact chunk in the first
// part's header. A part's trailing partial frame is dropped, so the next
// part starts on a frame, and odd joined data gets the zero pad byte RIFF
// requires.
//
// Engines that change samples before encoding them collect PCM16 instead
// (ReadPCM16, Append, WAV), which holds only 16-bit integer PCM.
func JoinWAV(parts []Audio) (Audio, error) {
	if len(parts) == 0 {
		return Audio{}, fmt.Errorf("%w: joining no audio parts", ErrNotWAV)
	}
	infos := make([]WAVInfo, len(parts))
	var sub0 guid
	size := 0
	for i, p := range parts {
		w, err := ParseWAV(p.Data)
		if err != nil {
			return Audio{}, fmt.Errorf("joining %d audio parts: part %d (%s): %w", len(parts), i, p.ContentType, err)
		}
		if f := infos[0]; i > 0 && (w.Format != f.Format || w.Channels != f.Channels || w.SampleRate != f.SampleRate || w.BitsPerSample != f.BitsPerSample) {
			return Audio{}, fmt.Errorf("joining %d audio parts: part %d is %d Hz/%d bit/%d ch, part 0 is %d Hz/%d bit/%d ch",
				len(parts), i, w.SampleRate, w.BitsPerSample, w.Channels, f.SampleRate, f.BitsPerSample, f.Channels)
		}
		// WAVE_FORMAT_EXTENSIBLE parts agree on every field above whether
		// their samples are integers or floats: the sub-format says which.
		sub, err := subFormat(p.Data[:w.DataOffset-8], w)
		if err != nil {
			return Audio{}, fmt.Errorf("joining %d audio parts: part %d (%s): %w", len(parts), i, p.ContentType, err)
		}
		if i == 0 {
			sub0 = sub
		} else if sub != sub0 {
			return Audio{}, fmt.Errorf("joining %d audio parts: part %d is WAVE_FORMAT_EXTENSIBLE with sub-format %v, part 0 with %v", len(parts), i, sub, sub0)
		}
		// A part that ends inside a frame is a writer's bug (a cut transfer
		// fails ParseWAV's size checks): its stray bytes are less than one
		// sample per channel, nothing anyone hears, and readers ignore them
		// at the end of a file. Kept in a join, though, they shift every
		// later part across channels and bytes, turning it to noise. So
		// each part's partial frame, at most blockAlign-1 bytes, is
		// dropped; refusing would fail the whole synthesis over less than
		// a sample.
		w.DataSize -= w.DataSize % blockAlign(w)
		infos[i] = w
		size += w.DataSize
	}
	head := parts[0].Data[:infos[0].DataOffset]
	// RIFF chunks are word-aligned: a chunk of odd size is followed by a
	// zero pad byte that its own size leaves out and the RIFF chunk, which
	// holds it, counts. Nothing follows the joined data, but a reader that
	// walks chunks by the rule, or a tool that appends one, needs the pad.
	pad := size % 2
	out := make([]byte, 0, len(head)+size+pad)
	out = append(out, head...)
	for i, p := range parts {
		out = append(out, p.Data[infos[i].DataOffset:infos[i].DataOffset+infos[i].DataSize]...)
	}
	out = append(out, make([]byte, pad)...)
	binary.LittleEndian.PutUint32(out[4:], uint32(len(out)-8))
	binary.LittleEndian.PutUint32(out[len(head)-4:], uint32(size))
	// Every format but integer PCM must carry a fact chunk, and readers of
	// float take its frame count over the data size: the first part's count
	// would cut the join short to the first part. Uncompressed samples hold
	// one frame per block.
	if fact, ok := chunkBody(out[:len(head)-8], "fact"); ok {
		if len(fact) < 4 {
			return Audio{}, fmt.Errorf("joining %d audio parts: part 0 (%s): %w: fact chunk is %d bytes, want 4", len(parts), parts[0].ContentType, ErrNotWAV, len(fact))
		}
		binary.LittleEndian.PutUint32(fact, uint32(size/blockAlign(infos[0])))
	}
	return Audio{ContentType: "audio/wav", Data: out}, nil
}

// blockAlign is the size of one sample frame: a sample of every channel,
// each in whole bytes.
func blockAlign(w WAVInfo) int {
	return w.Channels * ((w.BitsPerSample + 7) / 8)
}

// waveFormatExtensible is the format tag of a fmt chunk that names its
// format in a sub-format GUID.
const waveFormatExtensible = 0xfffe

// guid is a GUID as a WAV file stores it: three little-endian fields, then
// eight bytes.
type guid [16]byte

// String is the usual form of g, with the name of the format it stands for
// if it is one of the GUIDs made from a format tag.
func (g guid) String() string {
	s := fmt.Sprintf("%08x-%04x-%04x-%x-%x", binary.LittleEndian.Uint32(g[0:4]),
		binary.LittleEndian.Uint16(g[4:6]), binary.LittleEndian.Uint16(g[6:8]), g[8:10], g[10:16])
	if string(g[4:]) != "\x00\x00\x10\x00\x80\x00\x00\xaa\x00\x38\x9b\x71" {
		return s
	}
	switch tag := binary.LittleEndian.Uint32(g[0:4]); tag {
	case 1:
		return s + " (integer PCM)"
	case 3:
		return s + " (IEEE float)"
	default:
		return fmt.Sprintf("%s (format tag %d)", s, tag)
	}
}

// subFormat is the sub-format GUID of w, a WAVE_FORMAT_EXTENSIBLE file
// whose header, up to its data chunk, is head; for other format tags,
// which say all there is to say, it is zero. An extensible fmt chunk too
// short to hold the GUID is ErrNotWAV: nothing says what its samples are.
func subFormat(head []byte, w WAVInfo) (guid, error) {
	var g guid
	if w.Format != waveFormatExtensible {
		return g, nil
	}
	// The 16 common bytes, cbSize, valid bits, channel mask, then the GUID.
	f, _ := chunkBody(head, "fmt ")
	if len(f) < 40 {
		return g, fmt.Errorf("%w: WAVE_FORMAT_EXTENSIBLE fmt chunk is %d bytes, want at least 40", ErrNotWAV, len(f))
	}
	copy(g[:], f[24:40])
	return g, nil
}

// chunkBody is the body of the first chunk called id in head, the bytes of a
// WAV file up to a chunk ParseWAV found (so the sizes before it are known to
// fit), and whether there is one. The body shares head's bytes.
func chunkBody(head []byte, id string) ([]byte, bool) {
	for off := 12; off+8 <= len(head); {
		size := int(binary.LittleEndian.Uint32(head[off+4 : off+8]))
		body := off + 8
		if size > len(head)-body {
			return nil, false
		}
		if string(head[off:off+4]) == id {
			return head[body : body+size : body+size], true
		}
		off = body + size + size%2
	}
	return nil, false
}

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

// WAV wraps the samples in a canonical 44-byte header. The bytes are already
// little-endian samples, so they are copied as they are; a trailing odd byte,
// half a sample, is left out, as it always was.
func (p PCM16) WAV() []byte {
	data := p.Data[:len(p.Data)&^1]
	b := make([]byte, wavHeaderSize+len(data))
	putPCM16Header(b, p.SampleRate, max(p.Channels, 1), len(data))
	copy(b[wavHeaderSize:], data)
	return b
}
