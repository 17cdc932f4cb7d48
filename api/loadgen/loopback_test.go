package loadgen

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// fakeResolver answers from a table and fails for unknown names.
type fakeResolver map[string][]string

func (f fakeResolver) LookupIPAddr(_ context.Context, host string) ([]net.IPAddr, error) {
	ips, ok := f[host]
	if !ok {
		return nil, fmt.Errorf("no such host %q", host)
	}
	out := make([]net.IPAddr, 0, len(ips))
	for _, s := range ips {
		out = append(out, net.IPAddr{IP: net.ParseIP(s)})
	}
	return out, nil
}

func TestCheckLoopback(t *testing.T) {
	res := fakeResolver{
		"localhost":   {"127.0.0.1", "::1"},
		"box.local":   {"127.0.1.1"},
		"example.com": {"93.184.216.34"},
		"mixed":       {"127.0.0.1", "10.0.0.7"},
		"empty":       {},
	}
	tests := []struct {
		name       string
		url        string
		wantErr    bool
		wantRefuse bool // the error must match ErrNotLoopback
	}{
		{"ipv4 loopback", "http://127.0.0.1:8080", false, false},
		{"other 127/8 address", "http://127.3.2.1:80/x", false, false},
		{"ipv6 loopback", "http://[::1]:8080", false, false},
		{"ipv4-mapped loopback", "http://[::ffff:127.0.0.1]:8080", false, false},
		{"localhost", "http://localhost:8080", false, false},
		{"name resolving to 127.0.1.1", "https://box.local", false, false},
		{"private address", "http://10.0.0.1:8080", true, true},
		{"public address", "http://93.184.216.34", true, true},
		{"unspecified address", "http://0.0.0.0:8080", true, true},
		{"ipv6 public", "http://[2001:db8::1]:80", true, true},
		{"name resolving outside", "http://example.com", true, true},
		{"name resolving partly outside", "http://mixed:80", true, true},
		{"name resolving to nothing", "http://empty", true, true},
		{"unresolvable name", "http://nowhere.invalid", true, false},
		{"no host", "http:///path", true, false},
		{"other scheme", "ftp://127.0.0.1", true, false},
		{"not a URL", "://bad", true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckLoopback(context.Background(), res, tt.url)
			if (err != nil) != tt.wantErr {
				t.Fatalf("CheckLoopback(%q) = %v, want error: %v", tt.url, err, tt.wantErr)
			}
			if got := errors.Is(err, ErrNotLoopback); got != tt.wantRefuse {
				t.Errorf("CheckLoopback(%q) = %v; errors.Is(ErrNotLoopback) = %v, want %v", tt.url, err, got, tt.wantRefuse)
			}
		})
	}
}

func TestClientRefusesNonLoopbackAtDial(t *testing.T) {
	// TEST-NET-1 (192.0.2.0/24) is never routed; the dialer's Control hook
	// refuses before any packet is sent.
	c := NewClient(1, 2*time.Second)
	req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, "http://192.0.2.1:9/", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := c.Do(req)
	if err == nil {
		resp.Body.Close()
		t.Fatal("request to 192.0.2.1 succeeded, want a loopback refusal")
	}
	if !errors.Is(err, ErrNotLoopback) {
		t.Errorf("error = %v, want ErrNotLoopback", err)
	}
	if got := Classify(Outcome{Err: err}); got != "not_loopback" {
		t.Errorf("Classify = %q, want not_loopback", got)
	}
	if !strings.Contains(err.Error(), "192.0.2.1") {
		t.Errorf("error %q does not name the refused address", err)
	}
}
