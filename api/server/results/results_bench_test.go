package results

import (
	"testing"
	"time"
)

// BenchmarkURL signs one result link, as every result call of a completed
// task does per file. Compare builds with
// go test -run '^$' -bench URL -benchmem -count 5 ./api/results.
func BenchmarkURL(b *testing.B) {
	s, err := NewSigner(secret, "https://speech.example.com", time.Hour)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if u := s.URL(taskID, 0); len(u) == 0 {
			b.Fatal("empty link")
		}
	}
}

// BenchmarkVerify checks one genuine link, as every audio download does.
func BenchmarkVerify(b *testing.B) {
	s, err := NewSigner(secret, "https://speech.example.com", time.Hour)
	if err != nil {
		b.Fatal(err)
	}
	exp := time.Now().Add(time.Hour).Unix()
	sig := s.sign(taskID, 0, exp)
	b.ReportAllocs()
	for b.Loop() {
		if err := s.Verify(taskID, 0, exp, sig); err != nil {
			b.Fatal(err)
		}
	}
}
