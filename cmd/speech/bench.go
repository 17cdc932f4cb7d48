package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	apiclient "github.com/distributeai/asyncspeech/api/client"
	"github.com/distributeai/asyncspeech/api/loadgen"
	"github.com/distributeai/asyncspeech/internal/cliflag"
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
	hostileKey  string
	validWithin time.Duration
	pid         int
	engines     string
	voices      string
	params      string
	long        bool
	tasks       int
	anyID       bool
	idsOut      string
	idsIn       string
	sentences   string
}

func parseBenchFlags(e *env, args []string) (*benchFlags, error) {
	f := &benchFlags{}
	fs := flag.NewFlagSet("speech bench", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	fs.StringVar(&f.scenario, "scenario", "result", "what to measure: result (the result call on one task), create (durable creates), lifecycle (create, then wait for COMPLETED), abuse (--concurrency workers send hostile bodies while one client creates valid tasks), intelligibility (word error rate and real-time factor per engine and voice, on in-process servers)")
	fs.StringVar(&f.engines, "engines", "auto,flite,festival,espeak", "intelligibility scenario: speechd --engine values to measure")
	fs.StringVar(&f.voices, "voices", "leo,nora", "intelligibility scenario: voices to measure")
	fs.BoolVar(&f.long, "long", true, "intelligibility scenario: also time one task of 4096 characters of prose per engine and voice")
	fs.StringVar(&f.sentences, "sentences", "", "intelligibility scenario: file of sentences to measure, one a line (default: the built-in Harvard lists 1 and 2; api/intelligibility/testdata/harvard-3-4.txt holds lists 3 and 4 for a check on sentences no voice was chosen with)")
	fs.StringVar(&f.params, "params", "", "intelligibility scenario: temperature,exaggeration,cfg_weight to send (default: none, the server's defaults)")
	fs.StringVar(&f.baseURL, "base-url", "", "server to load; must be a loopback address (default $"+apiclient.EnvBaseURL+")")
	fs.StringVar(&f.apiKey, "api-key", "", "API key sent in the authorization header (default $"+apiclient.EnvAPIKey+")")
	fs.IntVar(&f.concurrency, "concurrency", 64, "workers, each with one request in flight (closed loop)")
	fs.DurationVar(&f.duration, "duration", 10*time.Second, "stop starting operations after this long")
	fs.IntVar(&f.requests, "requests", 1_000_000, "stop after this many operations in total")
	fs.DurationVar(&f.timeout, "timeout", 10*time.Second, "per-HTTP-request timeout")
	fs.StringVar(&f.taskID, "task-id", "", "result scenario: use this existing task instead of creating one")
	fs.DurationVar(&f.settle, "settle", 30*time.Second, "result scenario: how long to wait for the created task to finish before measuring")
	fs.DurationVar(&f.poll, "poll", 5*time.Millisecond, "lifecycle scenario: polling window (client: uniform in [0, poll); poll: fixed interval)")
	fs.StringVar(&f.wait, "wait", "client", "lifecycle scenario: client (the api/client package's Wait) or poll (a fixed-interval loop on the generated client)")
	fs.DurationVar(&f.taskTimeout, "task-timeout", time.Minute, "lifecycle scenario: longest wait for one task")
	fs.IntVar(&f.tasks, "tasks", 1, "result scenario: poll this many distinct tasks round-robin (created in set-up with the shortest input, paced on 429/503; measuring starts when at most 5% are unfinished or --settle runs out)")
	fs.BoolVar(&f.anyID, "any-id", false, "result scenario with --tasks: make up random task ids instead of creating tasks (for fixed-answer baselines that answer any id)")
	fs.StringVar(&f.idsOut, "ids-out", "", "result scenario: write the polled task ids to this file, one a line (for wrk)")
	fs.StringVar(&f.idsIn, "ids-in", "", "result scenario: poll the task ids in this file (one a line, as --ids-out writes them) round-robin instead of creating tasks")
	fs.BoolVar(&f.json, "json", false, "print the report as one JSON line")
	fs.StringVar(&f.hostileKey, "hostile-key", "", "abuse scenario: key of the hostile workers (default the API key with -hostile appended, which open development mode accepts)")
	fs.DurationVar(&f.validWithin, "valid-within", 2*time.Second, "abuse scenario: a valid create counts as served only if answered 200 within this")
	fs.IntVar(&f.pid, "pid", 0, "abuse scenario: pid of the server on this machine, to report its peak resident memory")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: speech bench --base-url URL --api-key KEY [--scenario result|create|lifecycle|abuse|intelligibility] [--concurrency 64] [--duration 10s] [--requests N] [--json]")
		fs.PrintDefaults()
	}
	if err := cliflag.Parse(fs, e.stdout, e.stderr, func() error { return fs.Parse(args) }); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if err := cliflag.FillFromEnv(fs, e.getenv, cliflag.Names(clientEnv())); err != nil {
		return nil, err
	}
	switch f.scenario {
	case "result", "create", "lifecycle", "abuse":
	case "intelligibility":
		return f, nil // starts its own servers: no target to check
	default:
		return nil, fmt.Errorf("--scenario %q: want result, create, lifecycle, abuse or intelligibility", f.scenario)
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
	if f.tasks < 1 || f.tasks > 1_000_000 {
		return nil, fmt.Errorf("--tasks %d: want 1 to 1000000", f.tasks)
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
	if f.scenario == "intelligibility" {
		return runIntelligibility(ctx, e, f)
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
	if f.scenario == "abuse" {
		return runAbuse(ctx, e, f, cfg, target)
	}

	var op loadgen.Op
	switch f.scenario {
	case "result":
		if f.tasks > 1 || f.anyID || f.idsIn != "" {
			mo := loadgen.ManyOptions{Tasks: f.tasks, AnyID: f.anyID, Settle: f.settle}
			if f.idsIn != "" {
				if mo.IDs, err = readIDs(f.idsIn); err != nil {
					break
				}
			}
			var p loadgen.ManyProbe
			op, p, err = loadgen.ResultMany(ctx, target, mo)
			if err == nil {
				fmt.Fprintf(e.stderr, "speech bench: result calls on %d tasks round-robin (created %d; statuses at start: %s)\n", len(p.IDs), p.Created, p.StatusMix())
				err = writeIDs(f.idsOut, p.IDs)
			}
			break
		}
		var p loadgen.Probe
		op, p, err = loadgen.Result(ctx, target, f.taskID, f.settle)
		if err == nil {
			fmt.Fprintf(e.stderr, "speech bench: result calls on task %s (status %s)\n", p.ID, p.Status)
			err = writeIDs(f.idsOut, []string{p.ID})
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

// abuseReport is the abuse scenario's outcome: the hostile workers' and the
// valid client's reports, the share of valid creates served in time, and
// the server's peak resident memory when its pid was given.
type abuseReport struct {
	Scenario           string          `json:"scenario"`
	Hostile            *loadgen.Report `json:"hostile"`
	Valid              *loadgen.Report `json:"valid"`
	ValidServedShare   float64         `json:"valid_served_share"`
	ValidWithin        string          `json:"valid_within"`
	ServerPeakRSSBytes int64           `json:"server_peak_rss_bytes,omitempty"`
}

// runAbuse is `speech bench --scenario abuse`: f.concurrency workers send
// loadgen.HostileBodies with the hostile key while one client creates valid
// tasks with the API key, each answer due within --valid-within. Exit 0 when
// it ran, whatever it measured: the figures are the result.
func runAbuse(ctx context.Context, e *env, f *benchFlags, cfg loadgen.Config, target loadgen.Target) int {
	hostile := target
	hostile.APIKey = f.hostileKey
	if hostile.APIKey == "" {
		hostile.APIKey = f.apiKey + "-hostile"
	}
	validClient := loadgen.NewClient(1, f.validWithin)
	defer validClient.CloseIdleConnections()
	valid := loadgen.Target{BaseURL: f.baseURL, APIKey: f.apiKey, Client: validClient}

	var watch *loadgen.RSSWatch
	if f.pid > 0 {
		var err error
		if watch, err = loadgen.WatchRSS(f.pid, 50*time.Millisecond); err != nil {
			fmt.Fprintf(e.stderr, "speech bench: --pid: %v\n", err)
			return exitUsage
		}
	}
	rep := abuseReport{Scenario: "abuse", ValidWithin: f.validWithin.String()}
	var herr, verr error
	done := make(chan struct{})
	go func() {
		defer close(done)
		rep.Hostile, herr = loadgen.Run(ctx, cfg, loadgen.Abuse(hostile, loadgen.HostileBodies()))
	}()
	vcfg := cfg
	vcfg.Concurrency = 1
	rep.Valid, verr = loadgen.Run(ctx, vcfg, loadgen.Create(valid))
	<-done
	if watch != nil {
		rep.ServerPeakRSSBytes = watch.Stop()
	}
	if err := errors.Join(herr, verr); err != nil {
		fmt.Fprintf(e.stderr, "speech bench: %v\n", err)
		return exitFailure
	}
	if n := rep.Hostile.Statuses[http.StatusUnauthorized]; n > rep.Hostile.Requests/2 {
		fmt.Fprintf(e.stderr, "speech bench: warning: %d of %d hostile requests were refused 401: the server has keys, so give the hostile workers one (--hostile-key); this run measured only key checks\n", n, rep.Hostile.Requests)
	}
	rep.Hostile.Scenario, rep.Hostile.Target = "abuse/hostile", f.baseURL
	rep.Valid.Scenario, rep.Valid.Target = "abuse/valid", f.baseURL
	if rep.Valid.Requests > 0 {
		rep.ValidServedShare = float64(rep.Valid.OK) / float64(rep.Valid.Requests)
	}
	if f.json {
		b, err := json.Marshal(rep)
		if err != nil {
			fmt.Fprintf(e.stderr, "speech bench: %v\n", err)
			return exitFailure
		}
		fmt.Fprintf(e.stdout, "%s\n", b)
		return exitOK
	}
	_ = rep.Hostile.WriteText(e.stdout)
	fmt.Fprintln(e.stdout)
	_ = rep.Valid.WriteText(e.stdout)
	fmt.Fprintf(e.stdout, "\nvalid creates answered 200 within %s: %.2f%% (%d of %d)\n", f.validWithin, 100*rep.ValidServedShare, rep.Valid.OK, rep.Valid.Requests)
	if rep.ServerPeakRSSBytes > 0 {
		fmt.Fprintf(e.stdout, "server peak RSS: %.1f MB\n", float64(rep.ServerPeakRSSBytes)/1e6)
	}
	return exitOK
}

// writeIDs writes ids one a line to path ("" writes nothing).
func writeIDs(path string, ids []string) error {
	if path == "" {
		return nil
	}
	if err := os.WriteFile(path, []byte(strings.Join(ids, "\n")+"\n"), 0o600); err != nil {
		return fmt.Errorf("--ids-out: %w", err)
	}
	return nil
}

// readIDs reads the non-empty lines of path.
func readIDs(path string) ([]string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("--ids-in: %w", err)
	}
	var ids []string
	for _, l := range strings.Split(string(data), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			ids = append(ids, l)
		}
	}
	if len(ids) == 0 {
		return nil, fmt.Errorf("--ids-in %s: no ids", path)
	}
	return ids, nil
}
