package daemon

import (
	"net"
	"net/http"
	"time"

	"github.com/distributeai/asyncspeech/api/engine"
	"github.com/distributeai/asyncspeech/api/store"
	"github.com/distributeai/asyncspeech/api/worker"
)

// Option replaces one piece of what New wires. speechd uses none; the test
// server (api/speechtest) and this module's tests are built from the same
// New with options, so what they serve cannot drift from the binary.
type Option func(*wiring)

// wiring holds what the options replaced; zero fields mean "as Config says".
type wiring struct {
	store       store.Store
	engine      engine.Engine
	now         func() time.Time
	newID       func() (string, error)
	ln          net.Listener
	tuneWorkers func(*worker.Options)
	holdWorkers <-chan struct{}
	wrapAPI     func(http.Handler) http.Handler
	diskFree    func(string) (uint64, error)
}

// WithStore serves st instead of opening Config.Store. The daemon owns it
// from then on: Run (or a failed New) closes it.
func WithStore(st store.Store) Option { return func(w *wiring) { w.store = st } }

// WithEngine runs e instead of resolving Config.Engine.
func WithEngine(e engine.Engine) Option { return func(w *wiring) { w.engine = e } }

// WithClock stamps tasks and signs links with now instead of time.Now.
// Timers (polling, backoff, leases) still run on real time.
func WithClock(now func() time.Time) Option { return func(w *wiring) { w.now = now } }

// WithIDs makes task ids with newID (which must return UUIDv4 strings)
// instead of google/uuid.
func WithIDs(newID func() (string, error)) Option { return func(w *wiring) { w.newID = newID } }

// WithListener serves on ln instead of listening on Config.Addr.
func WithListener(ln net.Listener) Option { return func(w *wiring) { w.ln = ln } }

// WithWorkerOptions lets tune change the worker pool's options after New
// has filled them from Config (e.g. millisecond polling in tests).
func WithWorkerOptions(tune func(*worker.Options)) Option {
	return func(w *wiring) { w.tuneWorkers = tune }
}

// WithWorkersHeld keeps the worker pool (admission included) from starting
// until release is closed, so a test can see tasks as CREATED first.
func WithWorkersHeld(release <-chan struct{}) Option {
	return func(w *wiring) { w.holdWorkers = release }
}

// WithAPIWrapper puts wrap around the API handler (inside the metrics
// middleware, outside everything else), for test servers that watch calls.
func WithAPIWrapper(wrap func(http.Handler) http.Handler) Option {
	return func(w *wiring) { w.wrapAPI = wrap }
}

// WithDiskFree measures the data directory's free bytes with free instead
// of the file system's own figure (for tests of --min-free-disk).
func WithDiskFree(free func(dir string) (uint64, error)) Option {
	return func(w *wiring) { w.diskFree = free }
}
