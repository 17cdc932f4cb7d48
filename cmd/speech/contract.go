package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/distributeai/asyncspeech/api/client"
	"github.com/distributeai/asyncspeech/api/contract"
	"github.com/distributeai/asyncspeech/api/har"
)

// envSecondKey holds the second key for the cross-key isolation check.
const envSecondKey = "DISTRIBUTE_SECOND_API_KEY"

// runContract runs the contract suite against a server and prints its
// report: exit 0 when no check failed (warnings and skips included), 1 on
// any violation, a refused key or an interrupted run, 2 on a usage error.
func runContract(ctx context.Context, e *env, args []string) int {
	fs := flag.NewFlagSet("speech contract", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	baseURL := fs.String("base-url", "", "server to check (default $"+client.EnvBaseURL+"; there is deliberately no default: the live API bills created tasks)")
	apiKey := fs.String("api-key", "", "API key (default $"+client.EnvAPIKey+")")
	secondKey := fs.String("second-key", "", "a second valid key, for the cross-key isolation check (default $"+envSecondKey+")")
	junit := fs.String("junit", "", "also write the report as JUnit XML to this file")
	asJSON := fs.Bool("json", false, "print the report as JSON instead of text")
	skipCreate := fs.Bool("skip-create", false, "skip every check that creates a task (tasks cost money on the live API)")
	maxRequests := fs.Int("max-requests", 400, "stop sending requests after this many; the remaining checks are skipped")
	expectOpen := fs.Bool("expect-open", false, "the server runs in open development mode: an accepted unknown key is a warning, not a failure")
	pollTimeout := fs.Duration("poll-timeout", 3*time.Minute, "how long to wait for created tasks to reach COMPLETED or ERROR")
	timeout := fs.Duration("timeout", 15*time.Minute, "give up on the whole run after this long (the report is then partial)")
	verbose := fs.Bool("v", false, "log every request to stderr")
	examples := fs.Int("examples", 0, "also send N create bodies generated from the request schema (valid ones followed through the lifecycle, invalid ones breaking one rule each); each request counts against --max-requests")
	seed := fs.Uint64("seed", 0, "seed of --examples: the same seed sends the same bodies (default: a random seed, printed in the report)")
	maxResponseTime := fs.Duration("max-response-time", 0, "fail any answer slower than this, naming the request (conformance.response-time; 0: not checked)")
	replay := fs.String("replay", "", "re-check a HAR recording (speech proxy --har) against the spec offline, conformance checks only; sends no request")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: speech contract --base-url URL --api-key KEY [flags]\n"+
			"       speech contract --replay FILE.har [--max-response-time D] [--json] [--junit FILE]\n\n"+
			"Runs the contract suite (see docs/contract.md) and prints one line per named check;\n"+
			"every failed check carries a curl command that repeats its request ($DISTRIBUTE_API_KEY\n"+
			"stands for the key).\n"+
			"Exit status: 0 no check failed (skips allowed: the summary says PASSED (PARTIAL) when\n"+
			"--max-requests ran out), 1 a check failed, the API key was refused or the run was\n"+
			"interrupted (summary INCOMPLETE), 2 usage error.\n\nflags:\n")
		fs.PrintDefaults()
	}
	if _, code := parseClientArgs(e, fs, args, 0, 0); code != nil {
		return *code
	}
	if code := e.fillEnv(fs, map[string]string{"second-key": envSecondKey}); code != nil {
		return *code
	}
	if *examples < 0 || *maxResponseTime < 0 {
		fmt.Fprintln(e.stderr, "speech contract: --examples and --max-response-time must not be negative")
		return exitUsage
	}
	if *replay != "" {
		return replayHAR(ctx, e, *replay, *maxResponseTime, *asJSON, *junit)
	}
	if *baseURL == "" || *apiKey == "" {
		fmt.Fprintf(e.stderr, "speech contract: --base-url and --api-key are required (or $%s and $%s)\n", client.EnvBaseURL, client.EnvAPIKey)
		return exitUsage
	}
	if *maxRequests <= 0 || *pollTimeout <= 0 || *timeout <= 0 {
		fmt.Fprintln(e.stderr, "speech contract: --max-requests, --poll-timeout and --timeout must be positive")
		return exitUsage
	}
	level := slog.LevelWarn
	if *verbose {
		level = slog.LevelDebug
	}
	opts := contract.Options{
		APIKey:      *apiKey,
		SecondKey:   *secondKey,
		SkipCreate:  *skipCreate,
		ExpectOpen:  *expectOpen,
		MaxRequests: *maxRequests,
		PollTimeout: *pollTimeout,
		Logger:      slog.New(slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: level})),

		Examples:        *examples,
		Seed:            *seed,
		MaxResponseTime: *maxResponseTime,
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	mode := "full run: creates tasks"
	if *skipCreate {
		mode = "--skip-create: no task is created"
	}
	fmt.Fprintf(e.stderr, "speech contract: checking %s (%s; at most %d requests)\n", *baseURL, mode, *maxRequests)
	if *examples > 0 && *seed == 0 {
		// Picked here so the line above the report already names it.
		opts.Seed = contract.RandomSeed()
	}
	if *examples > 0 {
		fmt.Fprintf(e.stderr, "speech contract: %d generated examples, seed %d (--seed %d repeats them)\n", *examples, opts.Seed, opts.Seed)
	}
	rep, err := contract.Run(ctx, *baseURL, opts)
	if rep == nil {
		fmt.Fprintf(e.stderr, "speech contract: %v\n", err)
		return exitUsage
	}
	if err != nil {
		fmt.Fprintf(e.stderr, "speech contract: %v (the report below is partial)\n", err)
	}
	if code := writeReport(e, rep, *asJSON, *junit); code != exitOK {
		return code
	}
	if !rep.Passed() || ctx.Err() != nil {
		return exitFailure
	}
	return exitOK
}

// writeReport prints rep (text or JSON) and writes its JUnit file if asked.
func writeReport(e *env, rep *contract.Report, asJSON bool, junit string) int {
	var err error
	if asJSON {
		err = rep.WriteJSON(e.stdout)
	} else {
		err = rep.WriteText(e.stdout)
	}
	if err != nil {
		fmt.Fprintf(e.stderr, "speech contract: write report: %v\n", err)
		return exitFailure
	}
	if junit != "" {
		if err := writeJUnit(junit, rep); err != nil {
			fmt.Fprintf(e.stderr, "speech contract: %v\n", err)
			return exitFailure
		}
	}
	return exitOK
}

// replayHAR re-checks a recording offline: exit 0 when every recorded
// answer keeps the contract, 1 when one does not, 2 when the file cannot
// be read or holds no API call.
func replayHAR(ctx context.Context, e *env, path string, maxResponseTime time.Duration, asJSON bool, junit string) int {
	f, err := har.ReadFile(path)
	if err != nil {
		fmt.Fprintf(e.stderr, "speech contract: --replay: %v\n", err)
		return exitUsage
	}
	rep, err := contract.Replay(ctx, f, contract.ReplayOptions{Name: filepath.Base(path), MaxResponseTime: maxResponseTime})
	if rep == nil {
		fmt.Fprintf(e.stderr, "speech contract: %v\n", err)
		return exitUsage
	}
	if code := writeReport(e, rep, asJSON, junit); code != exitOK {
		return code
	}
	if !rep.Passed() || err != nil {
		return exitFailure
	}
	return exitOK
}

func writeJUnit(path string, rep *contract.Report) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("write JUnit report: %w", err)
	}
	if err := rep.WriteJUnit(f); err != nil {
		f.Close()
		return fmt.Errorf("write JUnit report %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write JUnit report %s: %w", path, err)
	}
	return nil
}
