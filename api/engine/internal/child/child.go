// Package child runs one speech program for an engine: a separate process
// (os/exec, no shell) with the text on stdin, a minimal environment, a
// timeout, and a WAV coming back on stdout or in a private temporary file.
// It is where the flite, festival and espeak engines share how a run starts,
// is bounded and fails.
package child

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"

	"github.com/distributeai/asyncspeech/api/engine"
)

// OutFile in Spec.Args is replaced by the path of a fresh file in a private
// temporary directory, for programs that cannot write a WAV to a pipe; the
// file's contents are the run's output.
const OutFile = "\x00out.wav"

// Spec is one run.
type Spec struct {
	// Engine names the engine in errors ("flite").
	Engine string
	// Path is the program; Args its arguments, never the text.
	Path string
	Args []string
	// Stdin is the text, already through engine.SanitizeText.
	Stdin string
	// Timeout bounds the run; the process is killed when it passes.
	Timeout time.Duration
	// MaxAudio caps the audio a program writes to stdout (0 = none): once
	// the WAV on stdout holds more, the process is killed and Run fails with
	// engine.ErrAudioTooLong. Programs writing OutFile are capped by the
	// caller, per run.
	MaxAudio time.Duration
	// Getenv reads the server's environment for engine.ChildEnv (nil: os.Getenv).
	Getenv func(string) string
	// Nice lowers the program's CPU priority below the server's (0: as the
	// server's); see engine.StartNiced.
	Nice int
}

// maxStderr bounds how much of a program's stderr an error message quotes.
const maxStderr = 512

// Run runs spec and returns the bytes of its output (stdout, or OutFile when
// an argument names it). A run killed by the timeout or a signal, a context
// that ends, or a program that cannot be started is transient
// (engine.ErrUnavailable); a non-zero exit is permanent; passing MaxAudio is
// engine.ErrAudioTooLong.
func Run(ctx context.Context, spec Spec) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, spec.Timeout)
	defer cancel()
	args := append([]string(nil), spec.Args...)
	outPath := ""
	for i, a := range args {
		if a == OutFile {
			if outPath == "" {
				dir, err := os.MkdirTemp("", "speechd-"+spec.Engine+"-")
				if err != nil {
					return nil, fmt.Errorf("%s: temporary directory for %s: %w: %w", spec.Engine, spec.Path, engine.ErrUnavailable, err)
				}
				defer os.RemoveAll(dir)
				outPath = filepath.Join(dir, "out.wav")
			}
			args[i] = outPath
		}
	}
	cmd := exec.CommandContext(ctx, spec.Path, args...)
	cmd.Env = engine.ChildEnv(spec.Getenv)
	cmd.Dir = os.TempDir() // never the server's data directory
	cmd.Stdin = strings.NewReader(spec.Stdin)
	var stdout chunkBuffer
	capped := &cappedWAV{buf: &stdout, max: spec.MaxAudio, over: cancel}
	var stderr limitedBuffer
	cmd.Stdout, cmd.Stderr = capped, &stderr
	// If the program left a child holding the pipes, stop waiting shortly after the kill.
	cmd.WaitDelay = time.Second
	err := engine.StartNiced(cmd, spec.Nice)
	if err == nil {
		err = cmd.Wait()
	}
	if capped.exceeded {
		return nil, fmt.Errorf("%s: %s stopped after more than %v of audio: %w", spec.Engine, spec.Path, spec.MaxAudio, engine.ErrAudioTooLong)
	}
	if err != nil {
		msg := strings.TrimSpace(stderr.String())
		var exitErr *exec.ExitError
		switch {
		case ctx.Err() != nil:
			return nil, fmt.Errorf("%s: run of %s stopped after at most %v: %w: %w", spec.Engine, spec.Path, spec.Timeout, engine.ErrUnavailable, ctx.Err())
		case errors.As(err, &exitErr) && crashed(exitErr):
			// A program that crashes on an input crashes on it every time:
			// retrying would only spend the attempts.
			return nil, fmt.Errorf("%s: %s crashed on this input (%v): %s", spec.Engine, spec.Path, err, msg)
		case errors.As(err, &exitErr) && exitErr.ExitCode() == -1:
			return nil, fmt.Errorf("%s: %s was killed (%v): %w", spec.Engine, spec.Path, err, engine.ErrUnavailable)
		case errors.As(err, &exitErr):
			return nil, fmt.Errorf("%s: %s failed: %w: %s", spec.Engine, spec.Path, err, msg)
		default: // the program could not be started: gone, or not executable
			return nil, fmt.Errorf("%s: starting %s: %w: %w", spec.Engine, spec.Path, engine.ErrUnavailable, err)
		}
	}
	if outPath != "" {
		b, err := os.ReadFile(outPath)
		if err != nil {
			return nil, fmt.Errorf("%s: %s wrote no output file: %w (stderr: %s)", spec.Engine, spec.Path, err, strings.TrimSpace(stderr.String()))
		}
		return b, nil
	}
	return stdout.Bytes(), nil
}

// limitedBuffer keeps the first maxStderr bytes written to it.
type limitedBuffer struct{ b bytes.Buffer }

func (l *limitedBuffer) Write(p []byte) (int, error) {
	if room := maxStderr - l.b.Len(); room > 0 {
		l.b.Write(p[:min(room, len(p))])
	}
	return len(p), nil
}

func (l *limitedBuffer) String() string {
	s := l.b.String()
	if len(s) >= maxStderr {
		s += "…"
	}
	return s
}

// cappedWAV collects a WAV streamed on stdout and, once its header says how
// many bytes a second of audio takes, stops at max worth of samples: it
// calls over (which kills the program) and refuses further bytes, so no more
// than about max of audio is ever held.
type cappedWAV struct {
	buf      *chunkBuffer
	max      time.Duration
	over     func()
	limit    int64 // total byte budget once known, 0 before
	exceeded bool
}

// headerProbe is how many leading bytes may pass before the byte rate must be
// known; a WAV header is 44 bytes plus any extra chunks.
const headerProbe = 4096

func (c *cappedWAV) Write(p []byte) (int, error) {
	if c.exceeded {
		return 0, engine.ErrAudioTooLong
	}
	c.buf.Write(p)
	if c.max <= 0 {
		return len(p), nil
	}
	if c.limit == 0 {
		b := c.buf.head()
		if len(b) >= 36 && string(b[12:16]) == "fmt " {
			byteRate := int64(binary.LittleEndian.Uint32(b[28:32]))
			if byteRate > 0 {
				c.limit = headerProbe + byteRate*int64(c.max)/int64(time.Second)
			}
		} else if len(b) >= headerProbe {
			c.limit = headerProbe // not a WAV we can measure: the output check will fail it
		}
	}
	if c.limit > 0 && int64(c.buf.Len()) > c.limit {
		c.exceeded = true
		c.over()
		return 0, engine.ErrAudioTooLong
	}
	return len(p), nil
}

// chunkBuffer holds what is written in fixed-size chunks, so growing it
// never copies what it holds: a bytes.Buffer doubles, and for minutes of
// audio holds up to twice the audio plus the garbage of every smaller copy.
// Bytes allocates the result once.
type chunkBuffer struct {
	chunks [][]byte
	n      int
}

// chunkSize is one chunk: larger than any WAV header, small beside audio.
const chunkSize = 256 << 10

func (c *chunkBuffer) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		if len(c.chunks) == 0 || len(c.chunks[len(c.chunks)-1]) == chunkSize {
			c.chunks = append(c.chunks, make([]byte, 0, chunkSize))
		}
		last := &c.chunks[len(c.chunks)-1]
		k := min(chunkSize-len(*last), len(p))
		*last = append(*last, p[:k]...)
		p = p[k:]
	}
	c.n += n
	return n, nil
}

// Len is the number of bytes written.
func (c *chunkBuffer) Len() int { return c.n }

// head returns the first chunk: the first chunkSize bytes, or all of them.
func (c *chunkBuffer) head() []byte {
	if len(c.chunks) == 0 {
		return nil
	}
	return c.chunks[0]
}

// Bytes returns everything written, in one slice.
func (c *chunkBuffer) Bytes() []byte {
	if len(c.chunks) == 1 {
		return c.chunks[0]
	}
	out := make([]byte, 0, c.n)
	for _, ch := range c.chunks {
		out = append(out, ch...)
	}
	return out
}

// Slots bounds simultaneous runs of one engine.
type Slots chan struct{}

// NewSlots returns room for n simultaneous runs.
func NewSlots(n int) Slots { return make(Slots, n) }

// Acquire waits for a slot; the caller must call the returned release. A
// context that ends first is transient (engine.ErrUnavailable).
func (s Slots) Acquire(ctx context.Context, name string) (release func(), err error) {
	select {
	case s <- struct{}{}:
		return func() { <-s }, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("%s: waiting for one of %d run slots: %w: %w", name, cap(s), engine.ErrUnavailable, ctx.Err())
	}
}

// Chunked synthesises text one group of sentences at a time (groups of at
// most chunkBytes), joining the 16-bit PCM each run returns. It stops, and
// fails with engine.ErrAudioTooLong, as soon as the audio so far passes
// maxAudio (0 = no cap), so at most one group's audio past the cap is made.
func Chunked(ctx context.Context, name string, chunks []string, maxAudio time.Duration, run func(ctx context.Context, chunk string) ([]byte, error)) (engine.PCM16, error) {
	var all engine.PCM16
	for i, chunk := range chunks {
		wav, err := run(ctx, chunk)
		if err != nil {
			return engine.PCM16{}, err
		}
		pcm, err := engine.ReadPCM16(wav)
		if err != nil {
			return engine.PCM16{}, fmt.Errorf("%s: output for part %d of %d (%d bytes of text): %w", name, i+1, len(chunks), len(chunk), err)
		}
		if err := all.Append(pcm); err != nil {
			return engine.PCM16{}, fmt.Errorf("%s: part %d of %d: %w", name, i+1, len(chunks), err)
		}
		if maxAudio > 0 && all.Duration() > maxAudio {
			return engine.PCM16{}, fmt.Errorf("%s: %v of audio after part %d of %d, over the limit of %v: %w", name, all.Duration().Round(time.Millisecond), i+1, len(chunks), maxAudio, engine.ErrAudioTooLong)
		}
	}
	return all, nil
}

// Program is an engine's program, found, and the bounds of its runs: what
// every program-backed engine's New fills the same way.
type Program struct {
	// Path is the program found on PATH (or given as a path).
	Path string
	// Timeout bounds one run.
	Timeout time.Duration
	// Slots bounds simultaneous runs.
	Slots Slots
	// Getenv reads the environment the child's PATH and locale come from.
	Getenv func(string) string
	// Nice is how far below the server's CPU priority the program runs.
	Nice int
}

// Want is what an engine's Options ask of its program, with the engine's
// defaults for what they leave zero.
type Want struct {
	Engine                  string // the engine's name, for errors
	Binary, DefaultBinary   string
	Timeout, DefaultTimeout time.Duration
	MaxConcurrent           int // default: runtime.NumCPU()
	Getenv                  func(string) string
	// Nice: 0 to engine.MaxNice; see engine.StartNiced.
	Nice int
}

// Find looks the program up and applies the defaults; it fails when the
// program is not found.
func Find(w Want) (Program, error) {
	if w.Binary == "" {
		w.Binary = w.DefaultBinary
	}
	if w.Timeout <= 0 {
		w.Timeout = w.DefaultTimeout
	}
	if w.MaxConcurrent <= 0 {
		w.MaxConcurrent = runtime.NumCPU()
	}
	if w.Nice < 0 || w.Nice > engine.MaxNice {
		return Program{}, fmt.Errorf("%s: nice %d: want 0 to %d", w.Engine, w.Nice, engine.MaxNice)
	}
	path, err := exec.LookPath(w.Binary)
	if err != nil {
		return Program{}, fmt.Errorf("%s: finding %q: %w", w.Engine, w.Binary, err)
	}
	return Program{Path: path, Timeout: w.Timeout, Slots: NewSlots(w.MaxConcurrent), Getenv: w.Getenv, Nice: w.Nice}, nil
}

// crashed reports whether the program died of a fault of its own (a
// segmentation fault, a bus error, an illegal instruction, an abort, a
// floating-point error) rather than being killed from outside.
func crashed(e *exec.ExitError) bool {
	ws, ok := e.Sys().(syscall.WaitStatus)
	if !ok || !ws.Signaled() {
		return false
	}
	switch ws.Signal() {
	case syscall.SIGSEGV, syscall.SIGBUS, syscall.SIGILL, syscall.SIGABRT, syscall.SIGFPE:
		return true
	}
	return false
}
