package intelligibility

import (
	"context"
	"errors"
	"strings"
	"testing"
)

func TestEditDistance(t *testing.T) {
	tests := []struct {
		name     string
		ref, hyp string
		want     int
	}{
		{"same", "the birch canoe", "the birch canoe", 0},
		{"substitution", "the birch canoe", "the bird canoe", 1},
		{"deletion", "the birch canoe", "the canoe", 1},
		{"insertion", "the canoe", "the big canoe", 1},
		{"all wrong", "a b c", "", 3},
		{"empty reference", "", "x y", 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := EditDistance(Words(tc.ref), Words(tc.hyp)); got != tc.want {
				t.Errorf("got %d, want %d", got, tc.want)
			}
		})
	}
}

func TestWords(t *testing.T) {
	if got := strings.Join(Words("It's easy, to TELL: the man's fall."), "|"); got != "it's|easy|to|tell|the|man's|fall" {
		t.Errorf("got %q", got)
	}
}

func TestSentences(t *testing.T) {
	s := Sentences()
	if len(s) != 20 {
		t.Fatalf("got %d sentences, want 20", len(s))
	}
	for _, x := range s {
		if len(Words(x)) < 5 {
			t.Errorf("sentence %q: want at least 5 words", x)
		}
	}
}

// TestRealRoundTrip runs three sentences through a real server with the
// auto engine and checks the recogniser understands them: a broken engine,
// transcriber or WER computation gives a WER near 1, espeak-ng about 0.9,
// flite and festival under 0.5 on these three.
func TestRealRoundTrip(t *testing.T) {
	if testing.Short() {
		t.Skip("real round trip: skipped in -short")
	}
	rows, err := Run(context.Background(), Options{Engines: []string{"auto"}, Voices: []string{"leo", "nora"}, Sentences: Sentences()[:3]})
	if errors.Is(err, ErrNoRecogniser) {
		t.Skipf("not installed: %v", err)
	}
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	for _, r := range rows {
		if r.Resolved == "tone" {
			t.Skip("no speech engine installed: auto is the tone test engine")
		}
		t.Logf("%+v", r)
		if r.Words != 25 || r.Audio <= 0 || r.RTF <= 0 {
			t.Errorf("got %+v, want 25 words and positive audio and RTF", r)
		}
		if r.WER > 0.7 {
			t.Errorf("%s %s: got WER %.2f on three sentences, want well under 1 (understood)", r.Resolved, r.Voice, r.WER)
		}
	}
}
