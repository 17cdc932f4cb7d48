package loadgen

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"syscall"
	"time"
)

// ErrNotLoopback is matched (errors.Is) by every refusal of a target outside
// the loopback network. A load generator aimed at someone else's server is a
// denial-of-service tool; on this project's machines only loopback is allowed.
var ErrNotLoopback = errors.New("target is not a loopback address (only 127.0.0.0/8 and ::1 are allowed)")

// Resolver looks host names up; *net.Resolver satisfies it. Tests pass a fake.
type Resolver interface {
	LookupIPAddr(ctx context.Context, host string) ([]net.IPAddr, error)
}

// CheckLoopback refuses a base URL whose host is not, or does not resolve
// only to, a loopback address (127.0.0.0/8 or ::1). A nil resolver means
// net.DefaultResolver.
func CheckLoopback(ctx context.Context, r Resolver, baseURL string) error {
	u, err := url.Parse(baseURL)
	if err != nil {
		return fmt.Errorf("parse target URL %q: %w", baseURL, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("target URL %q: scheme must be http or https", baseURL)
	}
	host := u.Hostname()
	if host == "" {
		return fmt.Errorf("target URL %q has no host", baseURL)
	}
	if ip := net.ParseIP(host); ip != nil {
		if !isLoopback(ip) {
			return fmt.Errorf("target %q (%s): %w", baseURL, ip, ErrNotLoopback)
		}
		return nil
	}
	if r == nil {
		r = net.DefaultResolver
	}
	addrs, err := r.LookupIPAddr(ctx, host)
	if err != nil {
		return fmt.Errorf("resolve target host %q: %w", host, err)
	}
	if len(addrs) == 0 {
		return fmt.Errorf("target host %q resolves to no address: %w", host, ErrNotLoopback)
	}
	for _, a := range addrs {
		if !isLoopback(a.IP) {
			return fmt.Errorf("target host %q resolves to %s: %w", host, a.IP, ErrNotLoopback)
		}
	}
	return nil
}

// isLoopback accepts exactly 127.0.0.0/8 and ::1 (IPv4-mapped 127.x included).
func isLoopback(ip net.IP) bool {
	if v4 := ip.To4(); v4 != nil {
		return v4[0] == 127
	}
	return ip.Equal(net.IPv6loopback)
}

// NewClient returns an HTTP client for a closed-loop run with the given
// number of workers: one keep-alive connection per worker, no proxy (a proxy
// from the environment would both distort the numbers and leave loopback),
// no compression, a per-request timeout, and a dialer that refuses any
// non-loopback address at connect time — so a DNS answer that changes after
// CheckLoopback, or a redirect elsewhere, cannot leave the machine either.
func NewClient(concurrency int, timeout time.Duration) *http.Client {
	dialer := &net.Dialer{
		Timeout: 5 * time.Second,
		Control: func(_, address string, _ syscall.RawConn) error {
			host, _, err := net.SplitHostPort(address)
			if err != nil {
				return fmt.Errorf("dial %q: %w", address, err)
			}
			ip := net.ParseIP(host)
			if ip == nil || !isLoopback(ip) {
				return fmt.Errorf("dial %s: %w", address, ErrNotLoopback)
			}
			return nil
		},
	}
	tr := &http.Transport{
		Proxy:                 nil,
		DialContext:           dialer.DialContext,
		MaxIdleConns:          concurrency,
		MaxIdleConnsPerHost:   concurrency,
		IdleConnTimeout:       90 * time.Second,
		DisableCompression:    true,
		ForceAttemptHTTP2:     false,
		ResponseHeaderTimeout: timeout,
	}
	return &http.Client{Transport: tr, Timeout: timeout}
}
