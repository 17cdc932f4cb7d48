// Package logbuf batches log output. speechd logs one line per request; a
// write system call per line is a large share of a cheap request's cost, so
// lines are gathered in memory and written together: when the buffer is
// full, at most Interval after the first unwritten line, on Flush and on
// Close. Records at or above a level (warnings and errors, FlushAt) are
// written at once, with everything before them, so what explains a failure
// is never left in memory.
package logbuf

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"time"
)

// Writer is an io.Writer that batches writes to another. It is safe for
// concurrent use; each Write is kept whole and in order.
type Writer struct {
	mu       sync.Mutex
	w        io.Writer
	buf      []byte
	max      int
	interval time.Duration
	timer    *time.Timer
	armed    bool
	closed   bool
}

// New returns a Writer to w that holds at most max bytes (a larger write
// goes out at once) and writes held bytes at most interval after the first.
func New(w io.Writer, interval time.Duration, max int) *Writer {
	b := &Writer{w: w, max: max, interval: interval, buf: make([]byte, 0, max)}
	b.timer = time.AfterFunc(time.Hour, func() { _ = b.Flush() })
	b.timer.Stop()
	return b
}

// Write holds p for a later write (or writes everything now when the buffer
// would overflow, or after Close).
func (b *Writer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return b.w.Write(p)
	}
	if len(b.buf)+len(p) > b.max {
		if err := b.flushLocked(); err != nil {
			return 0, err
		}
		if len(p) > b.max {
			return b.w.Write(p)
		}
	}
	b.buf = append(b.buf, p...)
	if !b.armed {
		b.armed = true
		b.timer.Reset(b.interval)
	}
	return len(p), nil
}

// Flush writes what is held.
func (b *Writer) Flush() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.flushLocked()
}

func (b *Writer) flushLocked() error {
	b.armed = false
	if len(b.buf) == 0 {
		return nil
	}
	_, err := b.w.Write(b.buf)
	b.buf = b.buf[:0]
	return err
}

// Close writes what is held; later writes go straight through.
func (b *Writer) Close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.timer.Stop()
	b.closed = true
	return b.flushLocked()
}

// FlushAt wraps h so that a record at level or above is written together
// with everything held before it, at once.
func FlushAt(h slog.Handler, level slog.Leveler, w *Writer) slog.Handler {
	return &flushHandler{Handler: h, level: level, w: w}
}

type flushHandler struct {
	slog.Handler
	level slog.Leveler
	w     *Writer
}

func (f *flushHandler) Handle(ctx context.Context, r slog.Record) error {
	err := f.Handler.Handle(ctx, r)
	if r.Level >= f.level.Level() {
		if ferr := f.w.Flush(); err == nil {
			err = ferr
		}
	}
	return err
}

func (f *flushHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return &flushHandler{Handler: f.Handler.WithAttrs(as), level: f.level, w: f.w}
}

func (f *flushHandler) WithGroup(name string) slog.Handler {
	return &flushHandler{Handler: f.Handler.WithGroup(name), level: f.level, w: f.w}
}
