package daemon

import (
	"fmt"

	"runtime"
	"strings"
	"time"

	"github.com/distributeai/asyncspeech/api/engine"
	"github.com/distributeai/asyncspeech/api/validate"
)

// Roles a speechd process can take.
const (
	RoleAll    = "all"    // API and workers
	RoleAPI    = "api"    // API only: accepts and answers tasks, runs no engine
	RoleWorker = "worker" // workers only: runs tasks; serves results, health and metrics
)

// Config is everything speechd can be told; cmd/speechd fills it from flags
// and environment, starting from Default(). Zero values take the defaults
// of Default(), except the limits QueueCapacity, MaxConnections, MinFreeDisk, MaxAudio, MaxPendingPerKey and MaxPending,
// where zero means no limit.
type Config struct {
	// Addr is the listen address; port 0 picks a free port.
	Addr string
	// PublicURL is the base of result URLs; empty means http://<bound addr>.
	PublicURL string
	// Data is the data directory (SQLite database, link secret).
	Data string
	// Store is "sqlite", "memory" or a postgres:// URL.
	Store string
	// Engine is auto, flite, festival, espeak, tone or openai.
	Engine string
	// OpenAIURL, OpenAIKey, OpenAIModel, OpenAIRawKey configure the openai engine.
	OpenAIURL    string
	OpenAIKey    string
	OpenAIModel  string
	OpenAIRawKey bool
	// Keys are the accepted API keys; none (and no KeysFile) means open
	// development mode.
	Keys []string
	// KeysFile holds more keys, one a line.
	KeysFile string
	// Role is all, api or worker.
	Role string
	// Workers is the number of concurrent engine runs.
	Workers int
	// Lease is how long a worker's claim on a task lasts without a heartbeat.
	Lease time.Duration
	// EngineTimeout bounds one engine run.
	EngineTimeout time.Duration
	// EngineNice is how far below speechd's CPU priority the engines'
	// programs run, as nice: 0 means engine.DefaultNice, negative means at
	// speechd's own priority, at most engine.MaxNice. Polls then keep the
	// CPU while synthesis, which clients wait seconds for anyway, waits.
	EngineNice int
	// MaxAttempts bounds the claims of one task before it ends in ERROR.
	MaxAttempts int
	// QueueCapacity bounds QUEUED tasks (0 = unbounded); the rest wait as
	// CREATED and are admitted fairly across keys as room comes, so one
	// key's backlog cannot hold another key's task behind it.
	QueueCapacity int
	// Retention deletes finished tasks this long after they finished (0 = keep).
	Retention time.Duration
	// LinkSecret signs result links; empty means generated once and kept
	// under Data (random per process for the memory store).
	LinkSecret string
	// LinkTTL is how long a result link stays valid.
	LinkTTL time.Duration
	// MaxBodyBytes limits request bodies on any path; each operation's
	// limit is the smaller of this and the largest body its schema accepts.
	MaxBodyBytes int64
	// MaxAudio is the longest audio one task may produce (0 = no limit).
	MaxAudio time.Duration
	// MaxPendingPerKey bounds the unfinished tasks of one API key: a create
	// beyond it is answered 429 with Retry-After (0 = no limit).
	MaxPendingPerKey int
	// MaxPending bounds the unfinished tasks of all keys: a create beyond
	// it is answered 503 with Retry-After (0 = no limit).
	MaxPending int
	// MaxValidating bounds the request bodies validated at once (0 =
	// validate.DefaultMaxConcurrent).
	MaxValidating int
	// MaxBodyInFlight bounds the request body bytes held at once (0 =
	// server.DefaultMaxBodyInFlight).
	MaxBodyInFlight int64
	// MaxConnections bounds the open HTTP connections (0 = no limit); more
	// wait to be accepted.
	MaxConnections int
	// MinFreeDisk refuses creates (503, Retry-After) while the data
	// directory's file system has fewer free bytes (sqlite store only; 0 =
	// no check).
	MinFreeDisk int64
	// RateLimit is requests per second per key (0 = off); RateBurst the bucket.
	RateLimit float64
	RateBurst int
	// StrictResponses replaces a response that violates the spec with a 500.
	StrictResponses bool
	// SkipValidation mounts the API without the spec validator (speechd
	// --validate=false): requests and responses are not checked against
	// openapi.json. A benchmarking and diagnostic switch only; it is false
	// in the zero Config so no one turns validation off by omission.
	SkipValidation bool
	// TaskCache is which task reads the result call serves from memory
	// (api/store/cache): "auto" (the default: every status on memory and
	// SQLite, whose only writer is this process; finished tasks only on
	// PostgreSQL, which several nodes write), "all", "terminal" or "off".
	// "auto" caches finished tasks only on a node whose role is api or
	// worker, since another process then writes its store. Two speechd
	// processes on one SQLite file need "terminal" or "off".
	TaskCache string
	// TaskCacheBytes bounds the task cache (0 = cache.DefaultMaxBytes).
	TaskCacheBytes int64
	// ValidationCache is how many validation verdicts of byte-identical
	// requests and responses are kept (0 = validate.DefaultVerdicts; a
	// negative value turns verdict reuse off).
	ValidationCache int
	// AnswerCache is how many encoded result-call answers are kept for
	// reuse while their task and links are unchanged (0 =
	// server.DefaultAnswers; a negative value turns answer reuse off).
	AnswerCache int
	// HTTP server timeouts.
	ReadHeaderTimeout time.Duration
	ReadTimeout       time.Duration
	WriteTimeout      time.Duration
	IdleTimeout       time.Duration
	// ShutdownTimeout bounds the drain of in-flight requests on shutdown.
	ShutdownTimeout time.Duration
}

// Default returns the configuration speechd runs with when told nothing.
func Default() Config {
	return Config{
		Addr:              "127.0.0.1:8080",
		Data:              "./speechd-data",
		Store:             "sqlite",
		Engine:            "auto",
		Role:              RoleAll,
		Workers:           runtime.NumCPU(),
		Lease:             30 * time.Second,
		EngineTimeout:     2 * time.Minute,
		MaxAttempts:       5,
		QueueCapacity:     64,
		MaxConnections:    1024,
		MinFreeDisk:       512 << 20,
		LinkTTL:           24 * time.Hour,
		Retention:         7 * 24 * time.Hour,
		MaxBodyBytes:      1 << 20,
		MaxAudio:          900 * time.Second,
		MaxPendingPerKey:  1000,
		MaxPending:        10000,
		MaxValidating:     validate.DefaultMaxConcurrent,
		TaskCache:         "auto",
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ShutdownTimeout:   30 * time.Second,
	}
}

// withDefaults fills zero fields from Default and checks the values.
func (c Config) withDefaults() (Config, error) {
	d := Default()
	str := func(p *string, v string) {
		if strings.TrimSpace(*p) == "" {
			*p = v
		}
	}
	dur := func(p *time.Duration, v time.Duration) {
		if *p == 0 {
			*p = v
		}
	}
	str(&c.Addr, d.Addr)
	str(&c.Data, d.Data)
	str(&c.Store, d.Store)
	str(&c.Engine, d.Engine)
	str(&c.Role, d.Role)
	str(&c.TaskCache, d.TaskCache)
	c.TaskCache = strings.ToLower(strings.TrimSpace(c.TaskCache))
	switch c.TaskCache {
	case "auto", "all", "terminal", "off":
	default:
		return c, fmt.Errorf("task cache %q: want auto, all, terminal or off", c.TaskCache)
	}
	if c.TaskCacheBytes < 0 {
		return c, fmt.Errorf("task cache bytes %d: must not be negative", c.TaskCacheBytes)
	}
	if c.Workers == 0 {
		c.Workers = d.Workers
	}
	if c.MaxAttempts == 0 {
		c.MaxAttempts = d.MaxAttempts
	}
	if c.MaxBodyBytes == 0 {
		c.MaxBodyBytes = d.MaxBodyBytes
	}
	dur(&c.Lease, d.Lease)
	dur(&c.EngineTimeout, d.EngineTimeout)
	dur(&c.LinkTTL, d.LinkTTL)
	dur(&c.ReadHeaderTimeout, d.ReadHeaderTimeout)
	dur(&c.ReadTimeout, d.ReadTimeout)
	dur(&c.WriteTimeout, d.WriteTimeout)
	dur(&c.IdleTimeout, d.IdleTimeout)
	dur(&c.ShutdownTimeout, d.ShutdownTimeout)

	c.Role = strings.ToLower(strings.TrimSpace(c.Role))
	switch c.Role {
	case RoleAll, RoleAPI, RoleWorker:
	default:
		return c, fmt.Errorf("role %q: want all, api or worker", c.Role)
	}
	for name, v := range map[string]time.Duration{"lease": c.Lease, "engine timeout": c.EngineTimeout, "link TTL": c.LinkTTL, "retention": c.Retention, "shutdown timeout": c.ShutdownTimeout} {
		if v < 0 {
			return c, fmt.Errorf("%s %v: must not be negative", name, v)
		}
	}
	if c.EngineNice > engine.MaxNice {
		return c, fmt.Errorf("engine nice %d: at most %d", c.EngineNice, engine.MaxNice)
	}
	if c.Workers < 0 || c.MaxAttempts < 0 || c.QueueCapacity < 0 || c.MaxBodyBytes < 0 || c.RateLimit < 0 || c.RateBurst < 0 ||
		c.MaxConnections < 0 || c.MinFreeDisk < 0 || c.MaxAudio < 0 || c.MaxPendingPerKey < 0 || c.MaxPending < 0 || c.MaxValidating < 0 {
		return c, fmt.Errorf("workers, max attempts, queue capacity, body limit, rate limit, burst, max audio, max pending and max validating must not be negative")
	}
	return c, nil
}
