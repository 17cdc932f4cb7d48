// Package intelligibility measures how well people could understand each
// speech engine: it synthesises a fixed list of sentences through the real
// server (api/daemon, one per engine), has an independent recogniser
// (Debian's pocketsphinx, after sox resamples to its 16 kHz) transcribe the
// audio, and reports the word error rate against the text and the real-time
// factor (server time from create to finish ÷ audio duration).
package intelligibility

import (
	"bytes"
	"context"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
	"unicode"

	"github.com/distributeai/asyncspeech/api/client"
	"github.com/distributeai/asyncspeech/api/daemon"
	"github.com/distributeai/asyncspeech/api/engine"
)

// Sentences are the first two Harvard lists (IEEE 1969): 20 phonetically
// balanced English sentences, one a line.
//
//go:embed testdata/sentences.txt
var sentencesFile string

// Prose is 4 096 characters of ordinary English prose, for the long-input
// measurement.
//
//go:embed testdata/prose-4096.txt
var Prose string

// Sentences returns the fixed sentence list.
func Sentences() []string { return strings.Split(strings.TrimSpace(sentencesFile), "\n") }

// ErrNoRecogniser means pocketsphinx_continuous or sox is not installed.
var ErrNoRecogniser = errors.New("pocketsphinx_continuous and sox are needed (apt-get install pocketsphinx pocketsphinx-en-us sox)")

// Row is one engine and voice.
type Row struct {
	Engine   string // as given to --engine
	Resolved string // the engine's Name() in the server
	Voice    string
	Words    int     // reference words
	Errors   int     // word edits to turn the transcript into the text
	WER      float64 // Errors / Words
	Audio    time.Duration
	Server   time.Duration // created → finished, summed
	RTF      float64       // Server / Audio
	// Long is the server time (created → finished) of one task of
	// Options.Long, and LongAudio its audio; zero when not measured.
	Long      time.Duration
	LongAudio time.Duration
}

// Options configure Run.
type Options struct {
	Engines   []string // speechd --engine values
	Voices    []string
	Sentences []string
	// Params sets temperature, exaggeration and cfg_weight (nil: the
	// server's defaults).
	Params *[3]float64
	// Long, when not empty, is also synthesised once per engine and voice
	// and timed (Row.Long).
	Long string
	// Progress receives one line per finished engine and voice (may be nil).
	Progress io.Writer
}

// Run measures every engine and voice of opts.
func Run(ctx context.Context, opts Options) ([]Row, error) {
	for _, p := range []string{"pocketsphinx_continuous", "sox"} {
		if _, err := exec.LookPath(p); err != nil {
			return nil, fmt.Errorf("%w: %s: %v", ErrNoRecogniser, p, err)
		}
	}
	if opts.Progress == nil {
		opts.Progress = io.Discard
	}
	tmp, err := os.MkdirTemp("", "intelligibility-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	var rows []Row
	for _, name := range opts.Engines {
		r, err := runEngine(ctx, name, opts, tmp)
		if err != nil {
			return rows, fmt.Errorf("engine %s: %w", name, err)
		}
		for _, row := range r {
			fmt.Fprintf(opts.Progress, "%-8s %-16s %-5s WER %.2f  RTF %.3f  long %.1fs\n", row.Engine, row.Resolved, row.Voice, row.WER, row.RTF, row.Long.Seconds())
		}
		rows = append(rows, r...)
	}
	return rows, nil
}

func runEngine(ctx context.Context, name string, opts Options, tmp string) ([]Row, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	const key = "intelligibility-bench-key"
	d, err := daemon.New(ctx, daemon.Config{Addr: "127.0.0.1:0", Store: "memory", Engine: name, Keys: []string{key}, Workers: 1}, slog.New(slog.DiscardHandler))
	if err != nil {
		return nil, err
	}
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	defer func() { cancel(); <-done }()
	c, err := client.New(client.WithBaseURL(d.URL()), client.WithAPIKey(key))
	if err != nil {
		return nil, err
	}
	var rows []Row
	for _, voice := range opts.Voices {
		row := Row{Engine: name, Resolved: d.EngineName(), Voice: voice}
		for i, text := range opts.Sentences {
			p := client.CreateParams{Input: text, Voice: voice}
			if opts.Params != nil {
				p.Temperature, p.Exaggeration, p.CfgWeight = &opts.Params[0], &opts.Params[1], &opts.Params[2]
			}
			task, err := c.Speak(ctx, p)
			if err != nil {
				return nil, fmt.Errorf("voice %s, sentence %d: %w", voice, i+1, err)
			}
			var audio bytes.Buffer
			if _, err := c.Download(ctx, task, &audio); err != nil {
				return nil, fmt.Errorf("voice %s, sentence %d: download: %w", voice, i+1, err)
			}
			w, err := engine.ParseWAV(audio.Bytes())
			if err != nil {
				return nil, fmt.Errorf("voice %s, sentence %d: %w", voice, i+1, err)
			}
			row.Audio += w.Duration()
			if !task.Finished.IsZero() {
				row.Server += task.Finished.Sub(task.Created)
			}
			heard, err := Transcribe(ctx, audio.Bytes(), filepath.Join(tmp, fmt.Sprintf("%s-%s-%d", name, voice, i)))
			if err != nil {
				return nil, fmt.Errorf("voice %s, sentence %d: %w", voice, i+1, err)
			}
			ref := Words(text)
			row.Words += len(ref)
			row.Errors += EditDistance(ref, Words(heard))
		}
		if opts.Long != "" {
			task, err := c.Speak(ctx, client.CreateParams{Input: opts.Long, Voice: voice})
			if err != nil {
				return nil, fmt.Errorf("voice %s, long text: %w", voice, err)
			}
			var audio bytes.Buffer
			if _, err := c.Download(ctx, task, &audio); err != nil {
				return nil, fmt.Errorf("voice %s, long text: download: %w", voice, err)
			}
			w, err := engine.ParseWAV(audio.Bytes())
			if err != nil {
				return nil, fmt.Errorf("voice %s, long text: %w", voice, err)
			}
			row.Long, row.LongAudio = task.Finished.Sub(task.Created), w.Duration()
		}
		row.WER = float64(row.Errors) / float64(max(row.Words, 1))
		row.RTF = row.Server.Seconds() / max(row.Audio.Seconds(), 1e-9)
		rows = append(rows, row)
	}
	return rows, nil
}

// Transcribe resamples wav to 16 kHz mono with sox and returns what
// pocketsphinx_continuous hears. base is a path prefix for its files.
func Transcribe(ctx context.Context, wav []byte, base string) (string, error) {
	in, out := base+".wav", base+"-16k.wav"
	if err := os.WriteFile(in, wav, 0o600); err != nil {
		return "", err
	}
	if b, err := exec.CommandContext(ctx, "sox", in, "-r", "16000", "-c", "1", "-b", "16", out).CombinedOutput(); err != nil {
		return "", fmt.Errorf("sox %s: %w: %s", in, err, b)
	}
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, "pocketsphinx_continuous", "-infile", out, "-logfn", "/dev/null")
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("pocketsphinx_continuous -infile %s: %w: %s", out, err, stderr.String())
	}
	return strings.Join(strings.Fields(stdout.String()), " "), nil
}

// Words lowercases s and keeps its words: letters, digits and apostrophes.
func Words(s string) []string {
	return strings.FieldsFunc(strings.ToLower(s), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r) && r != '\''
	})
}

// EditDistance is the fewest word substitutions, insertions and deletions
// turning hyp into ref (the numerator of the word error rate).
func EditDistance(ref, hyp []string) int {
	prev := make([]int, len(hyp)+1)
	cur := make([]int, len(hyp)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ref); i++ {
		cur[0] = i
		for j := 1; j <= len(hyp); j++ {
			sub := prev[j-1]
			if ref[i-1] != hyp[j-1] {
				sub++
			}
			cur[j] = min(sub, prev[j]+1, cur[j-1]+1)
		}
		prev, cur = cur, prev
	}
	return prev[len(hyp)]
}

// WriteTable writes rows as a Markdown table.
func WriteTable(w io.Writer, rows []Row) error {
	var b strings.Builder
	b.WriteString("| --engine | engine run | voice | words | errors | WER | audio | server time | RTF | 4096 chars: server time (audio) |\n|---|---|---|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, r := range rows {
		long := "—"
		if r.Long > 0 {
			long = fmt.Sprintf("%.1fs (%.0fs)", r.Long.Seconds(), r.LongAudio.Seconds())
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %d | %d | %.3f | %.1fs | %.2fs | %.3f | %s |\n", r.Engine, r.Resolved, r.Voice, r.Words, r.Errors, r.WER, r.Audio.Seconds(), r.Server.Seconds(), r.RTF, long)
	}
	_, err := io.WriteString(w, b.String())
	return err
}
