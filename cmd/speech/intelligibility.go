package main

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"

	"github.com/distributeai/asyncspeech/api/intelligibility"
)

// runIntelligibility is `speech bench --scenario intelligibility`: it prints
// a Markdown table of word error rate and real-time factor per engine and
// voice. Exit 0 when measured, 0 with a note on stderr when pocketsphinx or
// sox is missing (nothing to measure with), 1 when a run fails.
func runIntelligibility(ctx context.Context, e *env, f *benchFlags) int {
	split := func(s string) []string {
		var out []string
		for _, p := range strings.Split(s, ",") {
			if p = strings.TrimSpace(p); p != "" {
				out = append(out, p)
			}
		}
		return out
	}
	opts := intelligibility.Options{
		Engines: split(f.engines), Voices: split(f.voices),
		Sentences: intelligibility.Sentences(), Progress: e.stderr,
	}
	if f.sentences != "" {
		b, err := os.ReadFile(f.sentences)
		if err != nil {
			fmt.Fprintf(e.stderr, "speech bench: --sentences: %v\n", err)
			return exitUsage
		}
		opts.Sentences = nil
		for _, l := range strings.Split(string(b), "\n") {
			if l = strings.TrimSpace(l); l != "" {
				opts.Sentences = append(opts.Sentences, l)
			}
		}
		if len(opts.Sentences) == 0 {
			fmt.Fprintf(e.stderr, "speech bench: --sentences %s: no sentences in it\n", f.sentences)
			return exitUsage
		}
	}
	if f.long {
		opts.Long = intelligibility.Prose
	}
	if f.params != "" {
		var p [3]float64
		parts := split(f.params)
		for i := range p {
			v := math.NaN()
			if len(parts) == 3 {
				if x, err := strconv.ParseFloat(parts[i], 64); err == nil {
					v = x
				}
			}
			if math.IsNaN(v) || v < 0 || v > 1 {
				fmt.Fprintf(e.stderr, "speech bench: --params %q: want three numbers from 0 to 1: temperature,exaggeration,cfg_weight\n", f.params)
				return exitUsage
			}
			p[i] = v
		}
		opts.Params = &p
	}
	rows, err := intelligibility.Run(ctx, opts)
	if errors.Is(err, intelligibility.ErrNoRecogniser) {
		fmt.Fprintf(e.stderr, "speech bench: intelligibility skipped: %v\n", err)
		return exitOK
	}
	if err != nil {
		fmt.Fprintf(e.stderr, "speech bench: intelligibility: %v\n", err)
		return exitFailure
	}
	if err := intelligibility.WriteTable(e.stdout, rows); err != nil {
		fmt.Fprintf(e.stderr, "speech bench: %v\n", err)
		return exitFailure
	}
	return exitOK
}
