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
