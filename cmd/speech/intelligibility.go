package main

import (
	"context"
	"errors"
	"fmt"
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
	rows, err := intelligibility.Run(ctx, intelligibility.Options{
		Engines: split(f.engines), Voices: split(f.voices),
		Sentences: intelligibility.Sentences(), Progress: e.stderr,
	})
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
