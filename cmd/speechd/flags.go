package main

import (
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/distributeai/asyncspeech/api/daemon"
	"github.com/distributeai/asyncspeech/api/engine"
	"github.com/distributeai/asyncspeech/api/engine/auto"
	"github.com/distributeai/asyncspeech/api/server"
	"github.com/distributeai/asyncspeech/api/server/auth"
	"github.com/distributeai/asyncspeech/internal/cliflag"
)

// envName is the environment variable of a flag: SPEECHD_ and the name in
// capitals, - as _.
var envName = cliflag.Prefixed("SPEECHD")

// parseConfig reads flags, then fills every flag not given on the command
// line from its environment variable. Help asked for goes to stdout (the
// error is then flag.ErrHelp); the usage after a bad flag goes to stderr.
func parseConfig(args []string, getenv func(string) string, stdout, stderr io.Writer) (daemon.Config, logOptions, error) {
	def := daemon.Default()
	cfg := def
	lo := logOptions{format: "text", level: "info", flush: 100 * time.Millisecond, memLimit: "auto", procs: "auto", memGetenv: getenv}
	var keys string
	fs := flag.NewFlagSet("speechd", flag.ContinueOnError)

	fs.StringVar(&cfg.Addr, "addr", def.Addr, "listen address (port 0 picks a free port)")
	fs.StringVar(&cfg.PublicURL, "public-url", "", "base of the result URLs handed out (default http://<bound addr>)")
	fs.StringVar(&cfg.Data, "data", def.Data, "data directory of the sqlite store and the link secret")
	fs.StringVar(&cfg.Store, "store", def.Store, "sqlite, memory, or a postgres:// URL")
	fs.StringVar(&cfg.Engine, "engine", def.Engine, "speech engine: "+strings.Join(auto.Names(), ", "))
	fs.StringVar(&keys, "keys", "", "comma-separated API keys (none, and no --keys-file: open development mode)")
	fs.StringVar(&cfg.KeysFile, "keys-file", "", "file of API keys, one a line")
	fs.StringVar(&cfg.Role, "role", def.Role, "api, worker or all")
	fs.IntVar(&cfg.Workers, "workers", def.Workers, "concurrent engine runs")
	fs.DurationVar(&cfg.Lease, "lease", def.Lease, "how long a worker's claim lasts without a heartbeat")
	fs.DurationVar(&cfg.EngineTimeout, "engine-timeout", def.EngineTimeout, "time limit of one engine run")
	fs.IntVar(&cfg.EngineNice, "engine-nice", 0, fmt.Sprintf("CPU priority of the engines' programs below speechd's, as nice, so polls are answered while they synthesize (0 = %d; negative = speechd's own; at most %d)", engine.DefaultNice, engine.MaxNice))
	fs.IntVar(&cfg.MaxAttempts, "max-attempts", def.MaxAttempts, "claims of a task before it ends in ERROR")
	fs.IntVar(&cfg.QueueCapacity, "queue-capacity", def.QueueCapacity, "most tasks QUEUED at once; more wait as CREATED and are admitted fairly across API keys (0 = unbounded: oldest first)")
	fs.DurationVar(&cfg.Retention, "retention", def.Retention, "delete finished tasks and audio this long after they finish (0 = keep)")
	fs.StringVar(&cfg.LinkSecret, "link-secret", "", "secret that signs result links, same on every node (default: generated under --data)")
	fs.DurationVar(&cfg.LinkTTL, "link-ttl", def.LinkTTL, "lifetime of a result link")
	fs.Int64Var(&cfg.MaxBodyBytes, "max-body", def.MaxBodyBytes, "request body limit in bytes (413 beyond)")
	fs.Var((*seconds)(&cfg.MaxAudio), "max-audio-seconds", "longest audio one task may produce, in seconds (or a duration such as 15m); over it the task ends ERROR and nothing is stored (0 = no limit)")
	fs.IntVar(&cfg.MaxPendingPerKey, "max-pending-per-key", def.MaxPendingPerKey, "unfinished tasks one API key may have; over it create answers 429 with Retry-After (0 = no limit)")
	fs.IntVar(&cfg.MaxPending, "max-pending", def.MaxPending, "unfinished tasks in all; over it create answers 503 with Retry-After (0 = no limit)")
	fs.StringVar(&lo.memLimit, "memory-limit", lo.memLimit, "soft limit of the Go heap, e.g. 512MiB (auto: the larger of 256MiB and 96MiB per worker; off: none; GOMEMLIMIT, if set, wins)")
	fs.StringVar(&lo.procs, "procs", lo.procs, fmt.Sprintf("Go scheduler slots, as GOMAXPROCS (auto: the usable CPUs plus one per worker, whose engine processes share those CPUs, and at least %d; GOMAXPROCS, if set, wins)", minAutoProcs))
	fs.Int64Var(&cfg.MaxBodyInFlight, "max-body-inflight", server.DefaultMaxBodyInFlight, "request body bytes held by all requests at once; a request that finds no room within 2 s gets 503 with Retry-After")
	fs.IntVar(&cfg.MaxConnections, "max-connections", def.MaxConnections, "open HTTP connections at most; more wait to be accepted (0 = no limit)")
	fs.Int64Var(&cfg.MinFreeDisk, "min-free-disk", def.MinFreeDisk, "bytes that must stay free on the data directory's disk (sqlite): below it creates answer 503 with Retry-After (0 = no check)")
	fs.IntVar(&cfg.MaxValidating, "max-validating", def.MaxValidating, "request bodies validated at once; a request that waits 2 s for a slot gets 503 with Retry-After")
	fs.StringVar(&cfg.TaskCache, "task-cache", def.TaskCache, "task reads served from memory: auto (all statuses on memory and sqlite, finished tasks on postgres), all, terminal or off; two speechd on one sqlite file need terminal or off")
	fs.Int64Var(&cfg.TaskCacheBytes, "task-cache-bytes", 0, "size bound of the task cache in bytes (0 = 64 MiB)")
	fs.IntVar(&cfg.ValidationCache, "validation-cache", 0, "validation verdicts of byte-identical requests and responses kept for reuse (0 = 32768; negative = off)")
	fs.IntVar(&cfg.AnswerCache, "answer-cache", 0, "encoded result-call answers kept for reuse while their task and links are unchanged (0 = 16384; negative = off)")
	fs.Float64Var(&cfg.RateLimit, "rate-limit", 0, "requests per second per API key (429 beyond; 0 = off)")
	fs.IntVar(&cfg.RateBurst, "rate-burst", 0, "rate limit burst (default the rate, at least 1)")
	fs.BoolVar(&cfg.StrictResponses, "strict-responses", false, "replace a response that violates openapi.json with a 500 (violations are logged either way)")
	validate := fs.Bool("validate", true, "check every request and response against openapi.json; --validate=false is for benchmarks and diagnosis only")
	fs.StringVar(&cfg.OpenAIURL, "openai-url", "", "base URL of the OpenAI-compatible speech server (--engine openai)")
	fs.StringVar(&cfg.OpenAIKey, "openai-key", "", "API key of that server")
	fs.StringVar(&cfg.OpenAIModel, "openai-model", "", "upstream model name sent for Chatterbox")
	fs.BoolVar(&cfg.OpenAIRawKey, "openai-raw-key", false, "send the openai key without Bearer")
	fs.DurationVar(&cfg.ReadHeaderTimeout, "read-header-timeout", def.ReadHeaderTimeout, "HTTP read header timeout")
	fs.DurationVar(&cfg.ReadTimeout, "read-timeout", def.ReadTimeout, "HTTP read timeout")
	fs.DurationVar(&cfg.WriteTimeout, "write-timeout", def.WriteTimeout, "HTTP write timeout")
	fs.DurationVar(&cfg.IdleTimeout, "idle-timeout", def.IdleTimeout, "HTTP keep-alive idle timeout")
	fs.DurationVar(&cfg.ShutdownTimeout, "shutdown-timeout", def.ShutdownTimeout, "how long shutdown waits for in-flight requests")
	fs.StringVar(&lo.format, "log-format", lo.format, "text or json")
	fs.StringVar(&lo.level, "log-level", lo.level, "debug, info, warn or error")
	fs.DurationVar(&lo.flush, "log-flush", lo.flush, "write log lines in batches at most this long after the first (warnings and errors at once; 0 = every line at once)")

	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: speechd [flags]\n\nThe reference server of the asynchronous speech API. Every flag also reads\nSPEECHD_<FLAG> from the environment (--public-url: SPEECHD_PUBLIC_URL); flags win.\n\n")
		fs.PrintDefaults()
	}
	if err := cliflag.Parse(fs, stdout, stderr, func() error { return fs.Parse(args) }); err != nil {
		return cfg, lo, err
	}
	if fs.NArg() > 0 {
		return cfg, lo, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if err := cliflag.FillFromEnv(fs, getenv, envName); err != nil {
		return cfg, lo, err
	}
	cfg.Keys = auth.ParseKeys(keys)
	cfg.SkipValidation = !*validate
	if cfg.Workers < 0 || cfg.MaxBodyBytes <= 0 {
		return cfg, lo, fmt.Errorf("--workers must not be negative and --max-body must be positive")
	}
	if cfg.EngineNice > engine.MaxNice {
		return cfg, lo, fmt.Errorf("--engine-nice %d: at most %d", cfg.EngineNice, engine.MaxNice)
	}
	// Process settings are checked here too, so a bad value is refused
	// before anything is logged.
	if _, err := memoryLimit(lo.memLimit, 1); err != nil {
		return cfg, lo, err
	}
	if _, err := procs(lo.procs, 1, 0); err != nil {
		return cfg, lo, err
	}
	return cfg, lo, nil
}

// seconds is a duration flag that takes a bare number as seconds
// (--max-audio-seconds 900) as well as a Go duration (15m).
type seconds time.Duration

func (s *seconds) String() string {
	return strconv.FormatFloat(time.Duration(*s).Seconds(), 'f', -1, 64)
}

func (s *seconds) Set(v string) error {
	if f, err := strconv.ParseFloat(v, 64); err == nil {
		if f < 0 || f > 1e9 {
			return fmt.Errorf("%q: want 0 to 1e9 seconds", v)
		}
		*s = seconds(time.Duration(f * float64(time.Second)))
		return nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 {
		return fmt.Errorf("%q: want seconds (900) or a duration (15m)", v)
	}
	*s = seconds(d)
	return nil
}
