// Package wavtest builds WAV files chunk by chunk for the tests of the
// engines' WAV handling: the files the code under test must read, join or
// produce are laid out here by the RIFF spec, not by that code.
package wavtest

import "encoding/binary"

// Chunk is one RIFF chunk: a four-byte id and its body.
type Chunk struct {
	ID   string
	Body []byte
}

// WAV lays chunks out as a RIFF/WAVE file: a chunk of odd size is followed
// by a zero pad byte that its size leaves out and the RIFF size counts.
func WAV(chunks ...Chunk) []byte {
	b := []byte("RIFF\x00\x00\x00\x00WAVE")
	for _, c := range chunks {
		b = append(b, c.ID...)
		b = binary.LittleEndian.AppendUint32(b, uint32(len(c.Body)))
		b = append(b, c.Body...)
		if len(c.Body)%2 == 1 {
			b = append(b, 0)
		}
	}
	binary.LittleEndian.PutUint32(b[4:], uint32(len(b)-8))
	return b
}

// Fmt is a fmt chunk whose byte rate and block align agree with the format
// (whole bytes per sample); extra follows the 16 common bytes (cbSize and
// what it counts).
func Fmt(format uint16, channels, rate, bits int, extra ...byte) Chunk {
	align := channels * ((bits + 7) / 8)
	b := binary.LittleEndian.AppendUint16(nil, format)
	b = binary.LittleEndian.AppendUint16(b, uint16(channels))
	b = binary.LittleEndian.AppendUint32(b, uint32(rate))
	b = binary.LittleEndian.AppendUint32(b, uint32(rate*align))
	b = binary.LittleEndian.AppendUint16(b, uint16(align))
	b = binary.LittleEndian.AppendUint16(b, uint16(bits))
	return Chunk{"fmt ", append(b, extra...)}
}

// Fact is a fact chunk counting frames sample frames.
func Fact(frames uint32) Chunk {
	return Chunk{"fact", binary.LittleEndian.AppendUint32(nil, frames)}
}

// Extensible is the tail of a WAVE_FORMAT_EXTENSIBLE fmt chunk, to pass to
// Fmt as extra: cbSize 22, valid bits, channel mask, and the sub-format GUID
// of format tag tag (1 integer PCM, 3 IEEE float).
func Extensible(validBits uint16, mask uint32, tag uint32) []byte {
	b := binary.LittleEndian.AppendUint16(nil, 22)
	b = binary.LittleEndian.AppendUint16(b, validBits)
	b = binary.LittleEndian.AppendUint32(b, mask)
	b = binary.LittleEndian.AppendUint32(b, tag)
	return append(b, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xaa, 0x00, 0x38, 0x9b, 0x71)
}
