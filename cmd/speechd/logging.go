package main

import (
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/distributeai/asyncspeech/internal/logbuf"
)

// logOptions choose the log format and level, and the process's memory
// limit (process settings that are not the daemon's).
type logOptions struct {
	format    string        // text or json
	level     string        // debug, info, warn, error
	flush     time.Duration // batch lines for at most this long (0: write each at once)
	memLimit  string        // --memory-limit: auto, off, or a size
	procs     string        // --procs: auto or a number
	memGetenv func(string) string
}

// newBufferedLogger builds the process logger; every line goes to w. With
// a positive o.flush, lines are batched (internal/logbuf) and warnings and errors are
// written at once with everything before them; the returned close writes
// what is held (nil without batching).
func newBufferedLogger(o logOptions, w io.Writer) (*slog.Logger, func() error, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(o.level)); err != nil {
		return nil, nil, fmt.Errorf("log level %q: want debug, info, warn or error", o.level)
	}
	if o.flush < 0 {
		return nil, nil, fmt.Errorf("log flush %v: must not be negative", o.flush)
	}
	var buf *logbuf.Writer
	if o.flush > 0 {
		buf = logbuf.New(w, o.flush, 64<<10)
		w = buf
	}
	ho := &slog.HandlerOptions{Level: level}
	var h slog.Handler
	switch strings.ToLower(o.format) {
	case "text", "":
		h = slog.NewTextHandler(w, ho)
	case "json":
		h = slog.NewJSONHandler(w, ho)
	default:
		return nil, nil, fmt.Errorf("log format %q: want text or json", o.format)
	}
	if buf == nil {
		return slog.New(h), func() error { return nil }, nil
	}
	return slog.New(logbuf.FlushAt(h, slog.LevelWarn, buf)), buf.Close, nil
}
