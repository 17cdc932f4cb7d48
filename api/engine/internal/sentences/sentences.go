// Package sentences cuts long text into groups of whole sentences, so an
// engine that runs a program per group holds a bounded amount of audio at a
// time and can stop at an audio cap between groups.
package sentences

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Split returns text as consecutive chunks of at most max bytes, cut after
// sentence ends (. ! ? ; : followed by a space, or a line break) where it
// can, else at the last space, else anywhere on a rune boundary. Joined with
// spaces the chunks say what text said; none is empty or only spaces. Text
// with nothing to say gives no chunks.
func Split(text string, max int) []string {
	if max < 8 {
		max = 8
	}
	var out []string
	rest := strings.TrimSpace(text)
	for rest != "" {
		if len(rest) <= max {
			out = append(out, rest)
			break
		}
		cut := lastBoundary(rest[:max+1])
		if cut <= 0 {
			cut = strings.LastIndexFunc(rest[:max+1], unicode.IsSpace)
		}
		if cut <= 0 {
			cut = max
			for cut > 0 && !utf8.RuneStart(rest[cut]) {
				cut--
			}
		}
		if chunk := strings.TrimSpace(rest[:cut]); chunk != "" {
			out = append(out, chunk)
		}
		rest = strings.TrimSpace(rest[cut:])
	}
	return out
}

// lastBoundary is the index just after the last sentence end in s that is
// followed by white space, or 0.
func lastBoundary(s string) int {
	for i := len(s) - 2; i > 0; i-- {
		switch s[i] {
		case '\n':
			return i + 1
		case '.', '!', '?', ';', ':':
			if s[i+1] == ' ' || s[i+1] == '\n' || s[i+1] == '\t' || s[i+1] == '\r' {
				return i + 1
			}
		}
	}
	return 0
}
