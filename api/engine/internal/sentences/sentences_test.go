package sentences

import (
	"slices"
	"strings"
	"testing"
)

func TestSplit(t *testing.T) {
	tests := []struct {
		name string
		text string
		max  int
		want []string
	}{
		{"short text is one chunk", "Hello there. Bye.", 100, []string{"Hello there. Bye."}},
		{"nothing to say", "  \n ", 100, nil},
		{"cut after sentences", "One two. Three four. Five six.", 20, []string{"One two. Three four.", "Five six."}},
		{"question and newline", "Is it? Yes\nit is here", 12, []string{"Is it? Yes", "it is here"}},
		{"no sentence end: at a space", "alpha beta gamma delta", 12, []string{"alpha beta", "gamma delta"}},
		{"no space: on a rune boundary", "ääääääääää", 9, []string{"ääää", "ääää", "ää"}},
		{"decimal point is not an end", "Pi is 3.14 and more words follow", 16, []string{"Pi is 3.14 and", "more words", "follow"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := Split(tc.text, tc.max)
			if !slices.Equal(got, tc.want) {
				t.Errorf("Split(%q, %d): got %q, want %q", tc.text, tc.max, got, tc.want)
			}
			for _, c := range got {
				if len(c) > max(tc.max, 8) {
					t.Errorf("chunk %q is %d bytes, want at most %d", c, len(c), tc.max)
				}
			}
			if strings.Join(strings.Fields(strings.Join(got, " ")), " ") != strings.Join(strings.Fields(tc.text), " ") && !strings.Contains(tc.name, "rune") {
				t.Errorf("chunks %q do not say what %q said", got, tc.text)
			}
		})
	}
}
