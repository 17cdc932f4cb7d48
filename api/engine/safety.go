package engine

import (
	"math"
	"os"
	"strings"
	"unicode/utf8"
)

// SanitizeText returns text as an engine may safely read it: every control
// character an engine could interpret as a command becomes a space. That is
// all of C0 except tab, newline and carriage return (it includes NUL, which
// C-string engines would take as the end of the text and silently drop the
// rest, and \x01, espeak-ng's embedded-command prefix), DEL, and the C1
// controls U+0080–U+009F. Invalid UTF-8 becomes U+FFFD. A space rather than
// deletion keeps words on either side apart, so the text says what it said.
// Every engine that hands text to another program calls this first.
func SanitizeText(text string) string {
	clean := true
	for _, r := range text {
		if r == utf8.RuneError || isCommandControl(r) {
			clean = false
			break
		}
	}
	if clean {
		return text
	}
	var b strings.Builder
	b.Grow(len(text))
	for _, r := range text {
		switch {
		case isCommandControl(r):
			b.WriteByte(' ')
		default:
			b.WriteRune(r) // an invalid byte decodes to, and is written as, U+FFFD
		}
	}
	return b.String()
}

func isCommandControl(r rune) bool {
	switch {
	case r == '\t' || r == '\n' || r == '\r':
		return false
	case r < 0x20, r == 0x7f, r >= 0x80 && r <= 0x9f:
		return true
	}
	return false
}

// defaultPath is the PATH a child gets when the server has none.
const defaultPath = "/usr/local/bin:/usr/bin:/bin"

// childLocaleVars are the locale variables passed through to children, so
// they read and write UTF-8 as the server does.
var childLocaleVars = [...]string{"LANG", "LC_ALL", "LC_CTYPE"}

// ChildEnv is the whole environment of an engine's child process: PATH and
// the locale, nothing else, so secrets in the server's environment
// (SPEECHD_KEYS, SPEECHD_LINK_SECRET, SPEECHD_OPENAI_KEY, ...) never reach a
// program that reads user text. getenv is os.Getenv when nil. Without a
// locale the child gets LANG=C.UTF-8, which Debian always has.
func ChildEnv(getenv func(string) string) []string {
	if getenv == nil {
		getenv = os.Getenv
	}
	path := getenv("PATH")
	if path == "" {
		path = defaultPath
	}
	env := []string{"PATH=" + path}
	haveLocale := false
	for _, k := range childLocaleVars {
		if v := getenv(k); v != "" {
			env = append(env, k+"="+v)
			haveLocale = true
		}
	}
	if !haveLocale {
		env = append(env, "LANG=C.UTF-8")
	}
	return env
}

// Clamp01 bounds a sampling parameter to 0–1; NaN counts as the middle.
// Every engine reads temperature, exaggeration and cfg_weight through it.
func Clamp01(v float64) float64 {
	if math.IsNaN(v) {
		return 0.5
	}
	return min(max(v, 0), 1)
}

// SpeedFor is the speaking-rate factor every engine derives from cfg_weight,
// 1 being the voice's own rate: 0.5 (the API default) is 1, 0 is 0.7, 1 is
// 1.3. As with Chatterbox, a lower cfg_weight gives slower, more deliberate
// speech.
func SpeedFor(cfgWeight float64) float64 { return 0.7 + 0.6*Clamp01(cfgWeight) }

// GainFor is the loudness factor engines derive from exaggeration: 0.5 (the
// API default) is 1, 0 is 0.6, 1 is 1.4. More exaggeration, more emphasis.
func GainFor(exaggeration float64) float64 { return 1 + 0.8*(Clamp01(exaggeration)-0.5) }
