// Package metrics exposes speechd's Prometheus metrics: HTTP requests by
// route and status, request latency, engine runs, status transitions, and
// the store's tasks by status and queue depth (read from the store when
// scraped, so every node of a cluster reports the shared queue).
package metrics

import (
	"context"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/distributeai/asyncspeech"
	"github.com/distributeai/asyncspeech/api/task"
	"github.com/distributeai/asyncspeech/api/validate"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/distributeai/asyncspeech/api/store"
	"github.com/distributeai/asyncspeech/api/store/cache"
	"github.com/distributeai/asyncspeech/internal/respwriter"
)

// Metrics holds one registry (no global state) and its collectors.
type Metrics struct {
	reg         *prometheus.Registry
	requests    *prometheus.CounterVec
	latency     *prometheus.HistogramVec
	engineRuns  *prometheus.CounterVec
	engineTime  prometheus.Histogram
	transitions *prometheus.CounterVec
	known       map[string]struct{} // route labels that are their own path

	// series caches the counter and histogram of each (route, method,
	// status) seen, so a request does not format its status and hash its
	// labels again. Bounded: routes and methods are fixed small sets, and
	// statuses are the few HTTP codes.
	seriesMu sync.RWMutex
	series   map[seriesKey]series
}

type seriesKey struct {
	route, method string
	status        int
}

type series struct {
	count   prometheus.Counter
	latency prometheus.Observer
}

// sideRoutes are speechd's routes outside the spec; the spec's operation
// paths come from openapi.json (asyncspeech.Operations).
var sideRoutes = []string{"/healthz", "/readyz", "/metrics"}

// routes returns the route labels a request can get: every operation path
// of the embedded spec, the side routes, "/results/" and "other".
func routes() []string {
	var out []string
	for _, op := range asyncspeech.Operations() {
		if !slices.Contains(out, op.Path) {
			out = append(out, op.Path)
		}
	}
	return append(append(out, sideRoutes...), "/results/", "other")
}

// route returns the route label of a request path. Paths outside speechd's
// routes count as "other", so a scanner probing random paths cannot blow up
// the label set.
func (m *Metrics) route(path string) string {
	if _, ok := m.known[path]; ok {
		return path
	}
	if strings.HasPrefix(path, "/results/") {
		return "/results/"
	}
	return "other"
}

// New registers the collectors. st, when non-nil, is asked for task counts
// at each scrape (with scrapeTimeout).
func New(st store.Store, scrapeTimeout time.Duration, log *slog.Logger) *Metrics {
	if log == nil {
		log = slog.Default()
	}
	m := &Metrics{
		known:  map[string]struct{}{},
		series: map[seriesKey]series{},
		reg:    prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "speechd_http_requests_total", Help: "HTTP requests by route, method and status.",
		}, []string{"route", "method", "status"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "speechd_http_request_duration_seconds", Help: "HTTP request latency by route.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		}, []string{"route"}),
		engineRuns: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "speechd_engine_runs_total", Help: "Speech engine runs by outcome (ok or error).",
		}, []string{"outcome"}),
		engineTime: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "speechd_engine_run_duration_seconds", Help: "Speech engine run time.",
			Buckets: prometheus.ExponentialBuckets(0.005, 2, 14),
		}),
		transitions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "speechd_task_transitions_total", Help: "Task status changes made by this node's workers.",
		}, []string{"status"}),
	}
	m.reg.MustRegister(m.requests, m.latency, m.engineRuns, m.engineTime, m.transitions,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if st != nil {
		m.reg.MustRegister(&storeCollector{
			st: st, timeout: scrapeTimeout, log: log,
			tasks: prometheus.NewDesc("speechd_tasks", "Tasks in the store by status.", []string{"status"}, nil),
			queue: prometheus.NewDesc("speechd_queue_depth", "Tasks waiting for a worker: CREATED, QUEUED and POSTPONED.", nil, nil),
			up:    prometheus.NewDesc("speechd_store_up", "1 if the store answered the last scrape, else 0.", nil, nil),
		})
	}
	for _, r := range routes() {
		if r != "/results/" && r != "other" {
			m.known[r] = struct{}{}
		}
	}
	return m
}

// TaskCache exposes a task read cache's counters, read at each scrape:
// speechd_task_cache_hits_total, _misses_total, _entries and _bytes.
func (m *Metrics) TaskCache(stats func() cache.Stats) {
	m.reg.MustRegister(newSnapshots(stats,
		stat[cache.Stats]{"speechd_task_cache_hits_total", "Task reads served from the task cache.", true,
			func(s cache.Stats) float64 { return float64(s.Hits) }},
		stat[cache.Stats]{"speechd_task_cache_misses_total", "Task reads the task cache passed to the store.", true,
			func(s cache.Stats) float64 { return float64(s.Misses) }},
		stat[cache.Stats]{"speechd_task_cache_entries", "Tasks held by the task cache.", false,
			func(s cache.Stats) float64 { return float64(s.Entries) }},
		stat[cache.Stats]{"speechd_task_cache_bytes", "Estimated bytes held by the task cache (bounded by --task-cache-bytes).", false,
			func(s cache.Stats) float64 { return float64(s.Bytes) }},
	))
}

// Verdicts exposes the spec validator's verdict reuse, read at each scrape:
// speechd_validation_reused_total (inputs whose earlier pass was reused),
// speechd_validation_checked_total (inputs kin-openapi validated),
// speechd_validation_cache_entries and _max.
func (m *Metrics) Verdicts(stats func() validate.VerdictStats) {
	m.reg.MustRegister(newSnapshots(stats,
		stat[validate.VerdictStats]{"speechd_validation_reused_total", "Requests and responses whose earlier pass of byte-identical input was reused.", true,
			func(s validate.VerdictStats) float64 { return float64(s.Hits) }},
		stat[validate.VerdictStats]{"speechd_validation_checked_total", "Requests and responses kin-openapi validated (no reusable earlier pass).", true,
			func(s validate.VerdictStats) float64 { return float64(s.Misses) }},
		stat[validate.VerdictStats]{"speechd_validation_cache_entries", "Passes held for reuse.", false,
			func(s validate.VerdictStats) float64 { return float64(s.Entries) }},
		stat[validate.VerdictStats]{"speechd_validation_cache_max", "Most passes held for reuse (--validation-cache).", false,
			func(s validate.VerdictStats) float64 { return float64(s.Max) }},
	))
}

// stat is one figure of a stats snapshot S: a counter or a gauge.
type stat[S any] struct {
	name, help string
	counter    bool
	pick       func(S) float64
}

// snapshots is a collector that takes one snapshot of S per scrape and
// exposes its stats, so the figures of one scrape agree with each other
// (and the snapshot's locks are taken once, not once per figure).
type snapshots[S any] struct {
	take  func() S
	stats []stat[S]
	descs []*prometheus.Desc
}

func newSnapshots[S any](take func() S, stats ...stat[S]) *snapshots[S] {
	c := &snapshots[S]{take: take, stats: stats}
	for _, st := range stats {
		c.descs = append(c.descs, prometheus.NewDesc(st.name, st.help, nil, nil))
	}
	return c
}

// Describe implements prometheus.Collector.
func (c *snapshots[S]) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range c.descs {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c *snapshots[S]) Collect(ch chan<- prometheus.Metric) {
	s := c.take()
	for i, st := range c.stats {
		kind := prometheus.GaugeValue
		if st.counter {
			kind = prometheus.CounterValue
		}
		ch <- prometheus.MustNewConstMetric(c.descs[i], kind, st.pick(s))
	}
}

// Handler serves the registry in the Prometheus exposition format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

// ObserveEngine records one engine run.
func (m *Metrics) ObserveEngine(d time.Duration, err error) {
	outcome := "ok"
	if err != nil {
		outcome = "error"
	}
	m.engineRuns.WithLabelValues(outcome).Inc()
	m.engineTime.Observe(d.Seconds())
}

// ObserveTransition records a status change made by a worker.
func (m *Metrics) ObserveTransition(to task.Status) {
	m.transitions.WithLabelValues(string(to)).Inc()
}

// Middleware counts and times every request next serves.
func (m *Metrics) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := respwriter.New(w)
		route := m.route(r.URL.Path)
		defer func() {
			status := rec.Status()
			method := r.Method
			switch method {
			case http.MethodGet, http.MethodHead, http.MethodPost:
			default:
				method = "other"
			}
			sr := m.seriesOf(seriesKey{route, method, status})
			sr.count.Inc()
			sr.latency.Observe(time.Since(start).Seconds())
		}()
		next.ServeHTTP(rec, r)
	})
}

// seriesOf returns the metrics of k, creating them the first time.
func (m *Metrics) seriesOf(k seriesKey) series {
	m.seriesMu.RLock()
	sr, ok := m.series[k]
	m.seriesMu.RUnlock()
	if ok {
		return sr
	}
	sr = series{count: m.requests.WithLabelValues(k.route, k.method, strconv.Itoa(k.status)), latency: m.latency.WithLabelValues(k.route)}
	m.seriesMu.Lock()
	m.series[k] = sr
	m.seriesMu.Unlock()
	return sr
}

// storeCollector reads task counts from the store at scrape time.
type storeCollector struct {
	st      store.Store
	timeout time.Duration
	log     *slog.Logger

	tasks, queue, up *prometheus.Desc
}

func (c *storeCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.tasks
	ch <- c.queue
	ch <- c.up
}

func (c *storeCollector) Collect(ch chan<- prometheus.Metric) {
	timeout := c.timeout
	if timeout <= 0 {
		timeout = 2 * time.Second
	}
	// Collect has no context of its own; the timeout keeps a slow store
	// from hanging the scrape.
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	counts, err := c.st.Counts(ctx)
	if err != nil {
		c.log.Warn("metrics: read task counts", "error", err)
		ch <- prometheus.MustNewConstMetric(c.up, prometheus.GaugeValue, 0)
		return
	}
	ch <- prometheus.MustNewConstMetric(c.up, prometheus.GaugeValue, 1)
	for _, s := range task.AllStatuses() {
		ch <- prometheus.MustNewConstMetric(c.tasks, prometheus.GaugeValue, float64(counts[s]), string(s))
	}
	depth := counts[task.StatusCreated] + counts[task.StatusQueued] + counts[task.StatusPostponed]
	ch <- prometheus.MustNewConstMetric(c.queue, prometheus.GaugeValue, float64(depth))
}
