package main

import (
	"fmt"
	"io"
	"log/slog"
	"strings"
)

// logOptions choose the log format and level, and the process's memory
// limit (process settings that are not the daemon's).
type logOptions struct {
	format    string // text or json
	level     string // debug, info, warn, error
	memLimit  string // --memory-limit: auto, off, or a size
	memGetenv func(string) string
}

// newLogger builds the process logger; every line goes to w.
func newLogger(o logOptions, w io.Writer) (*slog.Logger, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(o.level)); err != nil {
		return nil, fmt.Errorf("log level %q: want debug, info, warn or error", o.level)
	}
	ho := &slog.HandlerOptions{Level: level}
	switch strings.ToLower(o.format) {
	case "text", "":
		return slog.New(slog.NewTextHandler(w, ho)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, ho)), nil
	default:
		return nil, fmt.Errorf("log format %q: want text or json", o.format)
	}
}
