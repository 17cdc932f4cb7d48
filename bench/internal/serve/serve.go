// Package serve runs the benchmark baselines (bench/ceiling,
// bench/cardstack) the same way: a loopback-only listen address, a line
// naming the real port, and a graceful stop when ctx ends.
package serve

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"
)

// CheckLoopback refuses an address that is not a loopback IP and port: the
// baselines are load targets, never reachable from elsewhere.
func CheckLoopback(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if ip := net.ParseIP(host); err != nil || ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("--addr %q: must be a loopback IP and port", addr)
	}
	return nil
}

// Run serves h on addr until ctx ends, printing "NAME: listening on
// http://HOST:PORT" to stdout first, and returns the exit code: 0 after a
// clean stop, 1 when listening, serving or stopping failed.
func Run(ctx context.Context, name, addr string, h http.Handler, stdout, stderr io.Writer) int {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		fmt.Fprintf(stderr, "%s: listen on %s: %v\n", name, addr, err)
		return 1
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	fmt.Fprintf(stdout, "%s: listening on http://%s\n", name, ln.Addr())
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		fmt.Fprintf(stderr, "%s: serve: %v\n", name, err)
		return 1
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		fmt.Fprintf(stderr, "%s: shutdown: %v\n", name, err)
		return 1
	}
	return 0
}
