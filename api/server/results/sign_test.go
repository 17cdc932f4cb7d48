package results

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

// referenceSig is the link signature as first specified (a fresh HMAC and
// fmt formatting): reusing HMAC states must not change a single link.
func referenceSig(secret []byte, taskID string, index int, exp int64) string {
	m := hmac.New(sha256.New, secret)
	fmt.Fprintf(m, "asyncspeech-result-v1\x00%s\x00%d\x00%d", taskID, index, exp)
	return hex.EncodeToString(m.Sum(nil))
}

func TestSignMatchesReference(t *testing.T) {
	s, err := NewSigner(secret, "https://speech.example.com", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name  string
		id    string
		index int
		exp   int64
	}{
		{name: "uuid", id: taskID, index: 0, exp: 1_800_000_000},
		{name: "second file", id: taskID, index: 1, exp: 1_800_000_060},
		{name: "large index", id: taskID, index: 1 << 40, exp: 1},
		{name: "negative expiry", id: "x", index: 3, exp: -5},
		{name: "empty id", id: "", index: 0, exp: 0},
		{name: "non-ascii id", id: "täsk/ä?", index: 2, exp: 42},
		{name: "id longer than the stack buffer", id: strings.Repeat("a", 300), index: 7, exp: 1_900_000_000},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			want := referenceSig(secret, tc.id, tc.index, tc.exp)
			// Twice: the second call reuses a pooled, reset HMAC state.
			for i := range 2 {
				if got := s.sign(tc.id, tc.index, tc.exp); got != want {
					t.Errorf("call %d: sign(%q, %d, %d): got %s, want %s", i, tc.id, tc.index, tc.exp, got, want)
				}
			}
		})
	}
}

// TestSignConcurrent: pooled HMAC states are never shared between callers
// (run with -race).
func TestSignConcurrent(t *testing.T) {
	s, err := NewSigner(secret, "https://speech.example.com", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan string, 8)
	for g := range 8 {
		wg.Go(func() {
			for i := range 200 {
				id := fmt.Sprintf("task-%d-%d", g, i)
				if got, want := s.sign(id, i, int64(g)), referenceSig(secret, id, i, int64(g)); got != want {
					errs <- fmt.Sprintf("sign(%q, %d, %d): got %s, want %s", id, i, g, got, want)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}
