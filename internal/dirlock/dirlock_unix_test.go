//go:build unix

package dirlock

import (
	"sync/atomic"
	"testing"
	"time"
)

// TestLockExcludes: a second Lock of one directory, even from the same
// process, waits until the first is released.
func TestLockExcludes(t *testing.T) {
	dir := t.TempDir()
	unlock, err := Lock(dir)
	if err != nil {
		t.Fatalf("Lock: %v", err)
	}
	var got atomic.Bool
	done := make(chan error, 1)
	go func() {
		u, err := Lock(dir)
		if err == nil {
			got.Store(true)
			u()
		}
		done <- err
	}()
	time.Sleep(100 * time.Millisecond)
	if got.Load() {
		t.Fatal("second Lock succeeded while the first was held")
	}
	unlock()
	select {
	case err := <-done:
		if err != nil || !got.Load() {
			t.Fatalf("second Lock after release: got %v, want it held", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("second Lock still waiting 10s after the first was released")
	}
}

func TestLockMissingDir(t *testing.T) {
	if _, err := Lock(t.TempDir() + "/no/such/dir"); err == nil {
		t.Error("Lock of a missing directory: got nil error, want one")
	}
}
