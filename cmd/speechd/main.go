// Command speechd is the reference server of the asynchronous speech API:
// the vendor's two operations, a durable queue, workers, a speech engine and
// result files. It only turns flags and environment into a daemon.Config
// and runs it; the wiring lives in package api/daemon.
//
// Every flag also reads an environment variable, SPEECHD_ followed by the
// flag name in capitals with - as _ (--public-url: SPEECHD_PUBLIC_URL); a
// flag on the command line wins. SIGINT or SIGTERM drains in-flight requests
// and exits 0.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/distributeai/asyncspeech/api/daemon"
)

// Exit codes.
const (
	exitOK    = 0
	exitError = 1
	exitUsage = 2
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run parses args and environment, then serves until ctx ends. Only help
// (--help, -h) is written to stdout; logs go to stderr.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	cfg, lo, err := parseConfig(args, getenv, stdout, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	if err != nil {
		fmt.Fprintf(stderr, "speechd: %v\n", err)
		return exitUsage
	}
	logger, closeLog, err := newBufferedLogger(lo, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "speechd: %v\n", err)
		return exitUsage
	}
	defer closeLog()
	workers := cfg.Workers
	if workers == 0 {
		workers = daemon.Default().Workers
	}
	limit, from, err := applyMemoryLimit(lo, workers)
	if err != nil {
		fmt.Fprintf(stderr, "speechd: %v\n", err)
		return exitUsage
	}
	if limit > 0 {
		logger.Info("soft memory limit", "bytes", limit, "from", from)
	}
	engineRuns := workers
	if cfg.Role == daemon.RoleAPI {
		engineRuns = 0
	}
	n, from, restoreProcs, err := applyProcs(lo, engineRuns)
	if err != nil {
		fmt.Fprintf(stderr, "speechd: %v\n", err)
		return exitUsage
	}
	defer restoreProcs()
	logger.Info("go scheduler slots", "gomaxprocs", n, "from", from)
	d, err := daemon.New(ctx, cfg, logger)
	if err != nil {
		logger.Error("cannot start", "error", err)
		return exitError
	}
	if err := d.Run(ctx); err != nil {
		logger.Error("stopped with an error", "error", err)
		return exitError
	}
	return exitOK
}
