package logbuf

import (
	"bytes"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"
)

// sink records each write it gets.
type sink struct {
	mu     sync.Mutex
	writes []string
}

func (s *sink) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.writes = append(s.writes, string(p))
	return len(p), nil
}

func (s *sink) all() (string, int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return strings.Join(s.writes, ""), len(s.writes)
}

func TestBatchesAndKeepsOrder(t *testing.T) {
	s := &sink{}
	b := New(s, time.Hour, 1<<10)
	for i := range 10 {
		fmt.Fprintf(b, "line %d\n", i)
	}
	if got, n := s.all(); n != 0 || got != "" {
		t.Fatalf("before flush: got %d writes (%q), want none", n, got)
	}
	if err := b.Flush(); err != nil {
		t.Fatalf("Flush: %v", err)
	}
	got, n := s.all()
	var want strings.Builder
	for i := range 10 {
		fmt.Fprintf(&want, "line %d\n", i)
	}
	if got != want.String() || n != 1 {
		t.Errorf("got %d writes %q, want 1 write %q", n, got, want.String())
	}
}

func TestFlushesWhenFullAndWhenLarge(t *testing.T) {
	s := &sink{}
	b := New(s, time.Hour, 16)
	b.Write([]byte("0123456789"))
	b.Write([]byte("abcdefghij")) // would overflow: the first goes out
	if got, _ := s.all(); got != "0123456789" {
		t.Fatalf("after overflow: got %q, want the first write", got)
	}
	b.Write(bytes.Repeat([]byte("x"), 40)) // larger than the buffer
	if got, _ := s.all(); got != "0123456789abcdefghij"+strings.Repeat("x", 40) {
		t.Fatalf("after a large write: got %q, want everything in order", got)
	}
}

func TestFlushesWithinInterval(t *testing.T) {
	s := &sink{}
	b := New(s, 10*time.Millisecond, 1<<10)
	b.Write([]byte("hello\n"))
	deadline := time.Now().Add(10 * time.Second) // generous: the machine is shared
	for {
		if got, _ := s.all(); got == "hello\n" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("held line not written within 10 s of a 10 ms interval")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestWarningsFlushAtOnceAndCloseFlushes(t *testing.T) {
	s := &sink{}
	b := New(s, time.Hour, 1<<16)
	log := slog.New(FlushAt(slog.NewTextHandler(b, nil), slog.LevelWarn, b)).With("node", "a")
	log.Info("request", "n", 1)
	if got, _ := s.all(); got != "" {
		t.Fatalf("info written at once: %q", got)
	}
	log.Warn("trouble")
	got, _ := s.all()
	if !strings.Contains(got, "msg=request") || !strings.Contains(got, "msg=trouble") || strings.Index(got, "request") > strings.Index(got, "trouble") {
		t.Fatalf("after a warning: got %q, want the info line, then the warning", got)
	}
	log.Info("last")
	if err := b.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if got, _ := s.all(); !strings.Contains(got, "msg=last") {
		t.Errorf("after Close: got %q, want the last line", got)
	}
	b.Write([]byte("late\n"))
	if got, _ := s.all(); !strings.HasSuffix(got, "late\n") {
		t.Errorf("write after Close: got %q, want it written at once", got)
	}
}

func TestConcurrentWritesStayWhole(t *testing.T) {
	s := &sink{}
	b := New(s, time.Millisecond, 256)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 200 {
				fmt.Fprintf(b, "g%d-%03d\n", g, i)
			}
		}()
	}
	wg.Wait()
	b.Close()
	got, _ := s.all()
	lines := strings.Split(strings.TrimSuffix(got, "\n"), "\n")
	if len(lines) != 8*200 {
		t.Fatalf("got %d lines, want %d", len(lines), 8*200)
	}
	for _, l := range lines {
		if len(l) != len("g0-000") {
			t.Fatalf("torn line %q", l)
		}
	}
}
