// Package daemon wires speechd together: it opens the store, picks the
// engine, starts the worker pool, mounts the API, result files, health and
// metrics on one HTTP server, and shuts it all down gracefully. cmd/speechd
// only turns flags and environment into a Config; everything here is
// importable and tested.
package daemon

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/distributeai/asyncspeech/api/task"
	"golang.org/x/net/netutil"

	asyncspeech "github.com/distributeai/asyncspeech"
	"github.com/distributeai/asyncspeech/api/apierr"
	"github.com/distributeai/asyncspeech/api/engine"
	"github.com/distributeai/asyncspeech/api/engine/auto"
	"github.com/distributeai/asyncspeech/api/engine/espeak"
	"github.com/distributeai/asyncspeech/api/engine/festival"
	"github.com/distributeai/asyncspeech/api/engine/flite"
	"github.com/distributeai/asyncspeech/api/engine/openai"
	"github.com/distributeai/asyncspeech/api/server"
	"github.com/distributeai/asyncspeech/api/server/auth"
	"github.com/distributeai/asyncspeech/api/server/metrics"
	"github.com/distributeai/asyncspeech/api/server/playground"
	"github.com/distributeai/asyncspeech/api/server/results"
	"github.com/distributeai/asyncspeech/api/store"
	"github.com/distributeai/asyncspeech/api/store/cache"
	"github.com/distributeai/asyncspeech/api/store/health"
	"github.com/distributeai/asyncspeech/api/store/memory"
	"github.com/distributeai/asyncspeech/api/store/postgres"
	"github.com/distributeai/asyncspeech/api/store/sqlite"
	"github.com/distributeai/asyncspeech/api/worker"
)

// stopGrace is how long in-flight engine runs may finish after shutdown
// begins, before they are cancelled and their tasks requeued.
const stopGrace = 10 * time.Second

// SQLiteFile is the database file of the sqlite store under the data directory.
const SQLiteFile = "speechd.db"

// Daemon is one speechd process: an HTTP server and, unless its role is
// api, a worker pool.
type Daemon struct {
	cfg Config
	log *slog.Logger
	st  store.Store
	// health wraps st (every write goes through it) for /readyz.
	health    *health.Store
	storeKind string
	eng       engine.Engine
	pool      *worker.Pool
	metrics   *metrics.Metrics
	gate      *server.Gate
	ln        net.Listener
	srv       *http.Server
	publicURL string
	// holdWorkers, when set, delays the pool's start until it is closed.
	holdWorkers <-chan struct{}
}

// New builds a Daemon from cfg and binds its listener (so Addr is known
// before Run). Options replace single pieces (store, engine, clock, ids,
// listener, worker tuning) for tests and embedders; everything else is wired
// exactly as for speechd. On error nothing is left open.
func New(ctx context.Context, cfg Config, logger *slog.Logger, opts ...Option) (d *Daemon, err error) {
	if logger == nil {
		logger = slog.Default()
	}
	cfg, err = cfg.withDefaults()
	if err != nil {
		return nil, fmt.Errorf("speechd config: %w", err)
	}
	var wired wiring
	for _, o := range opts {
		o(&wired)
	}
	d = &Daemon{cfg: cfg, log: logger, gate: &server.Gate{}, holdWorkers: wired.holdWorkers}
	var closers []func() error
	defer func() {
		if err != nil {
			for i := len(closers) - 1; i >= 0; i-- {
				_ = closers[i]()
			}
		}
	}()

	keys := append([]string(nil), cfg.Keys...)
	if cfg.KeysFile != "" {
		more, err := auth.ReadKeysFile(cfg.KeysFile)
		if err != nil {
			return nil, err
		}
		keys = append(keys, more...)
	}
	authn := auth.New(keys)

	if wired.store != nil {
		d.st, d.storeKind = wired.store, "injected"
	} else if d.st, d.storeKind, err = openStore(ctx, cfg); err != nil {
		return nil, err
	}
	closers = append(closers, d.st.Close)
	d.health = health.New(d.st, nil)
	d.st = d.health
	if d.st, err = withTaskCache(d.st, d.storeKind, cfg, logger); err != nil {
		return nil, err
	}

	secret, err := linkSecret(cfg, d.storeKind, logger)
	if err != nil {
		return nil, err
	}

	if d.ln = wired.ln; d.ln == nil {
		if d.ln, err = net.Listen("tcp", cfg.Addr); err != nil {
			return nil, fmt.Errorf("listen on %s: %w", cfg.Addr, err)
		}
	}
	closers = append(closers, d.ln.Close)
	d.publicURL = strings.TrimSuffix(cfg.PublicURL, "/")
	if d.publicURL == "" {
		d.publicURL = "http://" + d.Addr()
		if tcp, ok := d.ln.Addr().(*net.TCPAddr); ok && tcp.IP.IsUnspecified() {
			logger.Warn("listening on all interfaces without --public-url: result links name " + d.publicURL + ", which other machines cannot reach; set --public-url")
		}
	}
	var signOpts []results.Option
	if wired.now != nil {
		signOpts = append(signOpts, results.WithNow(wired.now))
	}
	signer, err := results.NewSigner(secret, d.publicURL, cfg.LinkTTL, signOpts...)
	if err != nil {
		return nil, fmt.Errorf("result links: %w", err)
	}

	d.metrics = metrics.New(d.st, 2*time.Second, logger)
	if c, ok := d.st.(*cache.Store); ok {
		d.metrics.TaskCache(c.Stats)
	}
	var notify func()
	if cfg.Role != RoleAPI {
		if d.eng = wired.engine; d.eng == nil {
			if d.eng, err = newEngine(cfg, logger); err != nil {
				return nil, err
			}
		}
		wopts := worker.Options{
			Workers:       cfg.Workers,
			Lease:         cfg.Lease,
			Timeout:       cfg.EngineTimeout,
			MaxAttempts:   cfg.MaxAttempts,
			QueueCapacity: cfg.QueueCapacity,
			// On shutdown a run gets a short grace, then is cancelled and
			// its task requeued (nothing is lost): Ctrl-C should not wait
			// out an engine timeout.
			StopGrace:    min(stopGrace, cfg.EngineTimeout),
			Retention:    cfg.Retention,
			MaxAudio:     cfg.MaxAudio,
			Logger:       logger,
			OnTransition: func(_ string, to task.Status) { d.metrics.ObserveTransition(to) },
			OnEngine:     d.metrics.ObserveEngine,
			Now:          wired.now,
		}
		if wired.tuneWorkers != nil {
			wired.tuneWorkers(&wopts)
		}
		d.pool = worker.New(d.st, d.eng, wopts)
		notify = d.pool.Notify
	}

	var admit func(context.Context) error
	if cfg.MinFreeDisk > 0 && d.storeKind == "sqlite" {
		free := wired.diskFree
		if free == nil {
			free = diskFree
		}
		admit = (&diskGuard{dir: cfg.Data, min: uint64(cfg.MinFreeDisk), every: 2 * time.Second, free: free}).check
	}
	srv := server.New(d.st, server.Options{Links: signer, Notify: notify, Logger: logger, Now: wired.now, NewID: wired.newID,
		MaxPendingPerKey: cfg.MaxPendingPerKey, MaxPending: cfg.MaxPending, Admit: admit, Answers: cfg.AnswerCache})
	hopts := server.HandlerOptions{
		Logger:          logger,
		Auth:            authn,
		MaxBodyBytes:    cfg.MaxBodyBytes,
		RateLimit:       cfg.RateLimit,
		RateBurst:       cfg.RateBurst,
		StrictResponses: cfg.StrictResponses,
		Gate:            d.gate,
		SkipValidation:  cfg.SkipValidation,
		MaxValidating:   cfg.MaxValidating,
		MaxBodyInFlight: cfg.MaxBodyInFlight,
		Verdicts:        cfg.ValidationCache,
		Now:             wired.now,
	}
	if !cfg.SkipValidation {
		if hopts.Validator, err = server.NewValidator(hopts); err != nil {
			return nil, err
		}
		if cfg.ValidationCache >= 0 {
			// Without reuse the validator keeps no counters: zeros would
			// read as "nothing validated".
			d.metrics.Verdicts(hopts.Validator.VerdictStats)
		}
	}
	apiHandler, err := server.NewHandler(srv, hopts)
	if err != nil {
		return nil, err
	}
	if wired.wrapAPI != nil {
		apiHandler = wired.wrapAPI(apiHandler)
	}

	// Routes outside the spec are served beside the API handler, not under
	// its spec validator.
	side := func(h http.Handler) http.Handler {
		return server.RequestLog(logger, server.Recover(logger, d.gate.Middleware(logger, h)))
	}
	mux := http.NewServeMux()
	files := side(results.Handler(d.st, signer, logger))
	mux.Handle("/results/", files)
	// Links name the public URL's path; a reverse proxy may strip that
	// prefix or pass it through, so both forms are served.
	if u, perr := url.Parse(d.publicURL); perr == nil && strings.Trim(u.Path, "/") != "" {
		mux.Handle("/"+strings.Trim(u.Path, "/")+"/results/", files)
	}
	mux.Handle("GET /healthz", side(http.HandlerFunc(d.healthz)))
	mux.Handle("GET /readyz", side(http.HandlerFunc(d.readyz)))
	mux.Handle("GET /metrics", side(d.metrics.Handler()))
	if cfg.Role == RoleWorker {
		mux.Handle("/", side(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			apierr.Write(w, apierr.CodeNotFound, "this node runs workers only (--role worker); send API calls to an api or all node")
		})))
	} else {
		mux.Handle("/", apiHandler)
		// The reference and playground page, for a person with a browser;
		// it calls the API like any client, so nodes without it go without.
		doc, err := asyncspeech.Spec()
		if err != nil {
			return nil, err
		}
		page, err := playground.New(doc, playground.Options{PublicURL: d.publicURL})
		if err != nil {
			return nil, err
		}
		for _, pattern := range playground.Routes() {
			mux.Handle(pattern, side(page))
		}
	}
	var routes http.Handler = mux
	if cfg.Role != RoleWorker {
		routes = operationsFirst(apiHandler, mux)
	}
	d.srv = &http.Server{
		Handler:           d.metrics.Middleware(routes),
		ReadHeaderTimeout: cfg.ReadHeaderTimeout,
		ReadTimeout:       cfg.ReadTimeout,
		WriteTimeout:      cfg.WriteTimeout,
		IdleTimeout:       cfg.IdleTimeout,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}

	if cfg.SkipValidation && cfg.Role != RoleWorker {
		logger.Warn("SPEC VALIDATION OFF (--validate=false): requests and responses are not checked against openapi.json; for benchmarks and diagnosis only, never for clients")
	}
	if authn.Open() {
		logger.Warn("OPEN DEVELOPMENT MODE: no API keys configured (--keys, --keys-file); any non-empty key is accepted and owns its own tasks")
	} else {
		logger.Info("API keys configured", "keys", authn.Keys())
	}
	return d, nil
}

// Addr returns the bound listen address, host:port, with the real port.
func (d *Daemon) Addr() string { return d.ln.Addr().String() }

// Handler returns the HTTP handler the daemon serves (metrics, API, result
// files, health), for in-process benchmarks of the real wiring.
func (d *Daemon) Handler() http.Handler { return d.srv.Handler }

// URL returns http://Addr().
func (d *Daemon) URL() string { return "http://" + d.Addr() }

// EngineName returns the engine's name ("" for role api).
func (d *Daemon) EngineName() string {
	if d.eng == nil {
		return ""
	}
	return d.eng.Name()
}

// Run serves until ctx ends, then shuts down gracefully: new requests get
// 503, in-flight ones finish (up to ShutdownTimeout), then the workers stop
// (letting running engine jobs finish within their grace) and the store is
// closed. A clean shutdown returns nil. Run may be called once.
func (d *Daemon) Run(ctx context.Context) error {
	poolCtx, stopPool := context.WithCancel(context.WithoutCancel(ctx))
	defer stopPool()
	// poolDone stays nil (never ready) without a pool (role api).
	var poolDone chan error
	if d.pool != nil {
		poolDone = make(chan error, 1)
		go func() {
			if d.holdWorkers != nil {
				select {
				case <-d.holdWorkers:
				case <-poolCtx.Done():
					poolDone <- nil
					return
				}
			}
			poolDone <- d.pool.Run(poolCtx)
		}()
	}
	serveDone := make(chan error, 1)
	ln := d.ln
	if d.cfg.MaxConnections > 0 {
		// Past the limit new connections wait in the kernel's backlog, so
		// a flood of idle or slow connections holds no server memory.
		ln = netutil.LimitListener(ln, d.cfg.MaxConnections)
	}
	go func() { serveDone <- d.srv.Serve(ln) }()
	// Scripts wait for this line, so it is written at the first level the
	// logger lets through, even with --log-level warn or error.
	lvl := slog.LevelInfo
	for _, l := range []slog.Level{slog.LevelInfo, slog.LevelWarn, slog.LevelError} {
		if lvl = l; d.log.Enabled(ctx, l) {
			break
		}
	}
	d.log.Log(ctx, lvl, "listening on "+d.URL(), "role", d.cfg.Role, "store", d.storeKind, "engine", d.EngineName(), "public_url", d.publicURL)

	var runErr error
	select {
	case <-ctx.Done():
		d.log.Info("shutting down: draining in-flight requests", "timeout", d.cfg.ShutdownTimeout)
	case err := <-serveDone:
		runErr = fmt.Errorf("http server: %w", err)
	case err := <-poolDone:
		runErr = err
		if runErr == nil {
			runErr = errors.New("worker pool stopped unexpectedly")
		}
		poolDone = nil
	}

	d.gate.Close()
	shutCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), d.cfg.ShutdownTimeout)
	defer cancel()
	if err := d.srv.Shutdown(shutCtx); err != nil && runErr == nil {
		runErr = fmt.Errorf("drain http requests: %w", err)
	}
	stopPool()
	if poolDone != nil {
		if err := <-poolDone; err != nil && runErr == nil {
			runErr = err
		}
	}
	// Engines that keep programs running (festival's warm processes) end them.
	if c, ok := d.eng.(io.Closer); ok {
		if err := c.Close(); err != nil && runErr == nil {
			runErr = fmt.Errorf("close engine: %w", err)
		}
	}
	if err := d.st.Close(); err != nil && runErr == nil {
		runErr = fmt.Errorf("close store: %w", err)
	}
	if runErr == nil {
		d.log.Info("stopped cleanly")
	}
	return runErr
}

// withTaskCache wraps st in the read cache cfg.TaskCache asks for. "auto"
// caches every status only where this process is the store's one writer
// (memory, or SQLite on a node that runs both the API and the workers);
// elsewhere finished tasks only, re-read after 30 s so another node's
// retention shows within that time.
func withTaskCache(st store.Store, kind string, cfg Config, log *slog.Logger) (store.Store, error) {
	mode := cfg.TaskCache
	if mode == "auto" {
		mode = "terminal"
		if (kind == "memory" || kind == "sqlite") && cfg.Role == RoleAll {
			mode = "all"
		}
	}
	opts := cache.Options{MaxBytes: cfg.TaskCacheBytes}
	switch mode {
	case "off":
		return st, nil
	case "all":
		opts.Mode = cache.ModeAll
	case "terminal":
		opts.Mode = cache.ModeTerminal
		if kind != "memory" && kind != "sqlite" {
			opts.MaxAge = 30 * time.Second
		}
	default:
		return nil, fmt.Errorf("task cache %q: want auto, all, terminal or off", cfg.TaskCache)
	}
	c := cache.New(st, opts)
	log.Info("task cache", "mode", mode, "max_bytes", c.Stats().MaxBytes, "max_age", opts.MaxAge)
	return c, nil
}

func openStore(ctx context.Context, cfg Config) (store.Store, string, error) {
	switch s := strings.TrimSpace(cfg.Store); {
	case s == "memory":
		return memory.New(), "memory", nil
	case s == "sqlite":
		if err := os.MkdirAll(cfg.Data, 0o700); err != nil {
			return nil, "", fmt.Errorf("data directory %s: %w", cfg.Data, err)
		}
		st, err := sqlite.Open(ctx, filepath.Join(cfg.Data, SQLiteFile))
		if err != nil {
			return nil, "", err
		}
		return st, "sqlite", nil
	case strings.HasPrefix(s, "postgres://") || strings.HasPrefix(s, "postgresql://"):
		st, err := postgres.Open(ctx, s)
		if err != nil {
			return nil, "", err
		}
		return st, "postgres", nil
	default:
		return nil, "", fmt.Errorf("store %q: want sqlite, memory or a postgres:// URL", redactURL(s))
	}
}

// redactURL keeps a password in a store URL out of error messages.
func redactURL(s string) string {
	if at := strings.LastIndex(s, "@"); at >= 0 {
		if scheme := strings.Index(s, "://"); scheme >= 0 && scheme < at {
			return s[:scheme+3] + "…" + s[at:]
		}
	}
	return s
}

func newEngine(cfg Config, log *slog.Logger) (engine.Engine, error) {
	nice := engineNice(cfg.EngineNice)
	opts := auto.Options{
		Flite:    flite.Options{Timeout: cfg.EngineTimeout, Nice: nice},
		Festival: festival.Options{Timeout: cfg.EngineTimeout, Nice: nice},
		Espeak:   espeak.Options{Timeout: cfg.EngineTimeout, Nice: nice},
		OpenAI:   openai.Options{BaseURL: cfg.OpenAIURL, APIKey: cfg.OpenAIKey, Model: cfg.OpenAIModel, RawKey: cfg.OpenAIRawKey},
	}
	choice, err := auto.Resolve(cfg.Engine, opts)
	if err != nil {
		return nil, err
	}
	eng, err := auto.New(cfg.Engine, opts)
	if err != nil {
		return nil, fmt.Errorf("engine %s: %w", cfg.Engine, err)
	}
	if choice.Degraded {
		log.Warn("speech engine: "+choice.Reason, "engine", eng.Name())
	} else {
		log.Info("speech engine: "+choice.Reason, "engine", eng.Name())
	}
	return eng, nil
}

// engineNice maps Config.EngineNice to the steps engines run below
// speechd's priority: 0 is the default, negative none.
func engineNice(n int) int {
	switch {
	case n == 0:
		return engine.DefaultNice
	case n < 0:
		return 0
	}
	return n
}

// The signer's links are a pure function of task, index and epoch, so the
// server can reuse a task's encoded answer within an epoch.
var _ server.EpochLinks = (*results.Signer)(nil)

// operationsFirst sends requests to the spec's operation paths straight to
// api and the rest to mux. The API is mounted at "/" in mux, so this is the
// route mux would pick anyway; it only spares the polled result call a
// second pattern match.
func operationsFirst(api, mux http.Handler) http.Handler {
	paths := map[string]bool{}
	for _, op := range asyncspeech.Operations() {
		paths[op.Path] = true
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if paths[r.URL.Path] {
			api.ServeHTTP(w, r)
			return
		}
		mux.ServeHTTP(w, r)
	})
}
