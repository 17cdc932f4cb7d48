package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/distributeai/asyncspeech/api/loadgen"
)

// benchFlags are the options of `speech bench`.
type benchFlags struct {
	scenario    string
	baseURL     string
	apiKey      string
	concurrency int
	duration    time.Duration
	requests    int
	timeout     time.Duration
	taskID      string
	settle      time.Duration
	poll        time.Duration
	wait        string
	taskTimeout time.Duration
	json        bool
}

func parseBenchFlags(e *env, args []string) (*benchFlags, error) {
	f := &benchFlags{}
	fs := flag.NewFlagSet("speech bench", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	fs.StringVar(&f.scenario, "scenario", "result", "what to measure: result (the result call on one task), create (durable creates), lifecycle (create, then wait for COMPLETED)")
	fs.StringVar(&f.baseURL, "base-url", e.getenv("DISTRIBUTE_BASE_URL"), "server to load; must be a loopback address (env DISTRIBUTE_BASE_URL)")
	fs.StringVar(&f.apiKey, "api-key", e.getenv("DISTRIBUTE_API_KEY"), "API key sent in the authorization header (env DISTRIBUTE_API_KEY)")
	fs.IntVar(&f.concurrency, "concurrency", 64, "workers, each with one request in flight (closed loop)")
	fs.DurationVar(&f.duration, "duration", 10*time.Second, "stop starting operations after this long")
	fs.IntVar(&f.requests, "requests", 1_000_000, "stop after this many operations in total")
	fs.DurationVar(&f.timeout, "timeout", 10*time.Second, "per-HTTP-request timeout")
	fs.StringVar(&f.taskID, "task-id", "", "result scenario: use this existing task instead of creating one")
	fs.DurationVar(&f.settle, "settle", 30*time.Second, "result scenario: how long to wait for the created task to finish before measuring")
	fs.DurationVar(&f.poll, "poll", 5*time.Millisecond, "lifecycle scenario: polling window (client: uniform in [0, poll); poll: fixed interval)")
	fs.StringVar(&f.wait, "wait", "client", "lifecycle scenario: client (the api/client package's Wait) or poll (a fixed-interval loop on the generated client)")
	fs.DurationVar(&f.taskTimeout, "task-timeout", time.Minute, "lifecycle scenario: longest wait for one task")
	fs.BoolVar(&f.json, "json", false, "print the report as one JSON line")
	fs.Usage = func() {
		fmt.Fprintln(e.stderr, "usage: speech bench --base-url URL --api-key KEY [--scenario result|create|lifecycle] [--concurrency 64] [--duration 10s] [--requests N] [--json]")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	switch f.scenario {
	case "result", "create", "lifecycle":
	default:
		return nil, fmt.Errorf("--scenario %q: want result, create or lifecycle", f.scenario)
	}
	if f.wait != "client" && f.wait != "poll" {
		return nil, fmt.Errorf("--wait %q: want client or poll", f.wait)
	}
	if f.baseURL == "" {
		return nil, errors.New("--base-url (or DISTRIBUTE_BASE_URL) is required")
	}
	if f.apiKey == "" {
		return nil, errors.New("--api-key (or DISTRIBUTE_API_KEY) is required")
	}
	if f.timeout <= 0 || f.poll <= 0 || f.taskTimeout <= 0 || f.settle < 0 {
		return nil, errors.New("--timeout, --poll and --task-timeout must be positive, --settle not negative")
	}
	return f, nil
}

// runBench is `speech bench`: a closed-loop load run against a loopback
// server. Exit 0 when the run finished with at least one successful
// operation, 1 when none succeeded, 2 for bad flags or a non-loopback
// target, 3 when the set-up call (create or first result) fails.
func runBench(ctx context.Context, e *env, args []string) int {
	f, err := parseBenchFlags(e, args)
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	if err != nil {
		fmt.Fprintf(e.stderr, "speech bench: %v\n", err)
		return exitUsage
	}
	cfg := loadgen.Config{Concurrency: f.concurrency, Duration: f.duration, Requests: f.requests}
	if err := cfg.Validate(); err != nil {
		fmt.Fprintf(e.stderr, "speech bench: %v\n", err)
		return exitUsage
	}
	if err := loadgen.CheckLoopback(ctx, nil, f.baseURL); err != nil {
		fmt.Fprintf(e.stderr, "speech bench: %v\n", err)
		return exitUsage
	}
	client := loadgen.NewClient(f.concurrency, f.timeout)
	defer client.CloseIdleConnections()
	target := loadgen.Target{BaseURL: f.baseURL, APIKey: f.apiKey, Client: client}

	var op loadgen.Op
	switch f.scenario {
	case "result":
		var p loadgen.Probe
		op, p, err = loadgen.Result(ctx, target, f.taskID, f.settle)
		if err == nil {
			fmt.Fprintf(e.stderr, "speech bench: result calls on task %s (status %s)\n", p.ID, p.Status)
		}
	case "create":
		op = loadgen.Create(target)
	case "lifecycle":
		var wait loadgen.WaitFunc
		if f.wait == "poll" {
			wait, err = loadgen.PollWait(target, f.poll)
		} else {
			wait, err = loadgen.ClientWait(target, f.poll)
		}
		op = loadgen.Lifecycle(target, wait, f.taskTimeout)
	}
	if err != nil {
		fmt.Fprintf(e.stderr, "speech bench: set-up: %v\n", err)
		return exitAPI
	}

	rep, err := loadgen.Run(ctx, cfg, op)
	if err != nil {
		fmt.Fprintf(e.stderr, "speech bench: %v\n", err)
		return exitFailure
	}
	rep.Scenario, rep.Target = f.scenario, f.baseURL
	var out io.Writer = e.stdout
	if f.json {
		err = rep.WriteJSON(out)
	} else {
		err = rep.WriteText(out)
	}
	if err != nil {
		fmt.Fprintf(e.stderr, "speech bench: write report: %v\n", err)
		return exitFailure
	}
	if rep.OK == 0 {
		fmt.Fprintf(e.stderr, "speech bench: no operation succeeded (errors: %v, statuses: %v)\n", rep.Errors, rep.Statuses)
		return exitFailure
	}
	return exitOK
}
