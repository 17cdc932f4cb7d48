package server

import (
	"fmt"
	"testing"
	"time"
)

func TestLimiterBoundedMemory(t *testing.T) {
	clock := time.Unix(1_700_000_000, 0)
	l := newLimiter(1, 1, func() time.Time { return clock })
	l.cap = 3
	// a spends its only token, so its bucket differs from a fresh one.
	for _, k := range []string{"a", "b", "c"} {
		if ok, _ := l.allow(k); !ok {
			t.Fatalf("first request of %s: refused, want allowed", k)
		}
	}
	// Touch a again (refused: no token) so b becomes the least recent.
	if ok, _ := l.allow("a"); ok {
		t.Fatal("second request of a within the second: allowed, want refused")
	}
	if ok, _ := l.allow("d"); !ok {
		t.Fatal("first request of d: refused, want allowed")
	}
	if got := l.size(); got != 3 {
		t.Errorf("buckets after a 4th key with cap 3: got %d, want 3", got)
	}
	if ok, _ := l.allow("a"); ok {
		t.Error("a after d arrived: allowed, want still refused (a was used recently and must keep its bucket)")
	}
	// b was evicted: it starts again with a full bucket.
	if ok, _ := l.allow("b"); !ok {
		t.Error("b after eviction: refused, want a fresh bucket")
	}

	// A flood of new keys never grows the map past the cap.
	for i := range 1000 {
		l.allow(fmt.Sprintf("flood-%d", i))
		if got := l.size(); got > 3 {
			t.Fatalf("after %d new keys: %d buckets, want at most 3", i+1, got)
		}
	}
}

func TestLimiterRefill(t *testing.T) {
	clock := time.Unix(1_700_000_000, 0)
	l := newLimiter(2, 2, func() time.Time { return clock })
	tests := []struct {
		name    string
		advance time.Duration
		wantOK  bool
	}{
		{"burst 1", 0, true},
		{"burst 2", 0, true},
		{"empty", 0, false},
		{"half a token later still empty", 250 * time.Millisecond, false},
		{"one token refilled", 250 * time.Millisecond, true},
	}
	for _, tt := range tests {
		clock = clock.Add(tt.advance)
		if ok, _ := l.allow("k"); ok != tt.wantOK {
			t.Errorf("%s: got allowed=%v, want %v", tt.name, ok, tt.wantOK)
		}
	}
}
