package child

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/distributeai/asyncspeech/api/engine"
)

func script(t *testing.T, body string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "prog")
	if err := os.WriteFile(path, []byte("#!/bin/sh\n"+body+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestRunOutFile(t *testing.T) {
	dir := t.TempDir()
	prog := script(t, `echo "$2" > `+dir+`/name; cat > "$2"`)
	out, err := Run(context.Background(), Spec{Engine: "test", Path: prog, Args: []string{"-o", OutFile}, Stdin: "the audio", Timeout: 5 * time.Second})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if string(out) != "the audio" {
		t.Errorf("got %q, want the file's contents", out)
	}
	name, _ := os.ReadFile(filepath.Join(dir, "name"))
	path := strings.TrimSpace(string(name))
	if !strings.HasSuffix(path, "out.wav") {
		t.Errorf("got output path %q, want a file named out.wav", path)
	}
	if _, err := os.Stat(filepath.Dir(path)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("private directory %s still exists after the run (%v)", filepath.Dir(path), err)
	}
}

func TestCappedWAV(t *testing.T) {
	header := engine.EncodeWAV(1000, nil) // 2000 bytes a second
	tests := []struct {
		name     string
		max      time.Duration
		write    int // bytes of samples after the header
		exceeded bool
	}{
		{"no cap", 0, 1 << 20, false},
		{"under the cap", time.Second, 1000, false},
		{"over the cap and the header slack", time.Second, 2000 + headerProbe + 2, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var buf chunkBuffer
			called := false
			c := &cappedWAV{buf: &buf, max: tc.max, over: func() { called = true }}
			var err error
			if _, err = c.Write(header); err == nil {
				for n := 0; n < tc.write && err == nil; n += 100 {
					_, err = c.Write(make([]byte, 100))
				}
			}
			if c.exceeded != tc.exceeded || called != tc.exceeded || errors.Is(err, engine.ErrAudioTooLong) != tc.exceeded {
				t.Errorf("got exceeded=%v called=%v err=%v, want %v", c.exceeded, called, err, tc.exceeded)
			}
			if tc.exceeded && buf.Len() > 44+2000+headerProbe+200 {
				t.Errorf("held %d bytes, want about the cap", buf.Len())
			}
		})
	}
}

func TestChunkBuffer(t *testing.T) {
	tests := []struct {
		name   string
		writes []int
	}{
		{"nothing", nil},
		{"one small write", []int{10}},
		{"exactly one chunk", []int{chunkSize}},
		{"across chunks", []int{chunkSize - 3, 7, chunkSize * 2, 1}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var c chunkBuffer
			var want []byte
			for i, n := range tc.writes {
				p := bytes.Repeat([]byte{byte(i + 1)}, n)
				if got, err := c.Write(p); got != n || err != nil {
					t.Fatalf("Write(%d bytes): got %d, %v", n, got, err)
				}
				want = append(want, p...)
			}
			if c.Len() != len(want) || !bytes.Equal(c.Bytes(), want) {
				t.Errorf("got %d bytes, want %d, equal: %v", c.Len(), len(want), bytes.Equal(c.Bytes(), want))
			}
		})
	}
}

// TestRunOutcomes: how a program's end is classified. A crash (a fault
// signal of its own) is permanent; a kill from outside or a timeout is
// transient (engine.ErrUnavailable); a plain failure exit is permanent.
// Only the timeout case has a short timeout: Run reports any run whose
// time is up as stopped by the timeout, so the others get ample time to
// start and end on a loaded machine.
func TestRunOutcomes(t *testing.T) {
	tests := []struct {
		name      string
		body      string
		timeout   time.Duration
		transient bool
		wantText  string
	}{
		{"segmentation fault", `kill -SEGV $$`, 10 * time.Second, false, "crashed"},
		{"abort", `kill -ABRT $$`, 10 * time.Second, false, "crashed"},
		{"killed from outside", `kill -KILL $$`, 10 * time.Second, true, "was killed"},
		{"failure exit", `echo broken >&2; exit 3`, 10 * time.Second, false, "broken"},
		{"timeout", `exec sleep 30`, 300 * time.Millisecond, true, "stopped after"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Run(context.Background(), Spec{Engine: "test", Path: script(t, tc.body), Timeout: tc.timeout})
			if err == nil {
				t.Fatal("got no error")
			}
			if got := errors.Is(err, engine.ErrUnavailable); got != tc.transient {
				t.Errorf("transient: got %v (%v), want %v", got, err, tc.transient)
			}
			if !strings.Contains(err.Error(), tc.wantText) {
				t.Errorf("got %q, want it to contain %q", err, tc.wantText)
			}
		})
	}
}

// TestRunLowersPriority: a run's program ends up Nice steps below the
// test's own priority, capped at engine.MaxNice, and at the test's own with
// Nice 0. The program waits (up to 5 s) for the priority it should get, as
// the change lands just after it starts, and prints the one it has.
func TestRunLowersPriority(t *testing.T) {
	raw, err := syscall.Getpriority(syscall.PRIO_PROCESS, 0)
	if err != nil {
		t.Fatalf("getpriority: %v", err)
	}
	own := 20 - raw
	prog := script(t, `want=$1; i=0
while :; do
	n=$(awk '{print $19}' /proc/self/stat)
	[ "$n" = "$want" ] && break
	i=$((i+1)); [ $i -ge 500 ] && break
	sleep 0.01
done
echo "$n"`)
	tests := []struct {
		name string
		nice int
		want int
	}{
		{"as the server", 0, own},
		{"seven below", 7, min(own+7, engine.MaxNice)},
		{"lowest", engine.MaxNice, engine.MaxNice},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, err := Run(context.Background(), Spec{Engine: "test", Path: prog, Args: []string{strconv.Itoa(tc.want)}, Timeout: 20 * time.Second, Nice: tc.nice})
			if err != nil {
				t.Fatalf("Run: %v", err)
			}
			if got := strings.TrimSpace(string(out)); got != strconv.Itoa(tc.want) {
				t.Errorf("program's nice: got %s, want %d", got, tc.want)
			}
		})
	}
	// A server already running below the default priority: its engines go
	// Nice steps further down, not to the absolute value Nice. The calling
	// thread is lowered by 3 and locked, so the program is started from
	// it; the goroutine ends locked, so the thread is discarded with it.
	t.Run("server already niced", func(t *testing.T) {
		want := min(own+3+7, engine.MaxNice)
		type result struct {
			out []byte
			err error
		}
		done := make(chan result, 1)
		go func() {
			runtime.LockOSThread() // never unlocked: the thread ends with the goroutine
			if err := syscall.Setpriority(syscall.PRIO_PROCESS, 0, own+3); err != nil {
				done <- result{err: fmt.Errorf("setpriority of the calling thread: %w", err)}
				return
			}
			out, err := Run(context.Background(), Spec{Engine: "test", Path: prog, Args: []string{strconv.Itoa(want)}, Timeout: 20 * time.Second, Nice: 7})
			done <- result{out, err}
		}()
		r := <-done
		if r.err != nil {
			t.Fatalf("Run: %v", r.err)
		}
		if got := strings.TrimSpace(string(r.out)); got != strconv.Itoa(want) {
			t.Errorf("program's nice: got %s, want %d (server at %d, 7 below it)", got, want, own+3)
		}
	})
	if _, err := Run(context.Background(), Spec{Engine: "test", Path: prog, Args: []string{"0"}, Timeout: time.Second, Nice: engine.MaxNice + 1}); err == nil {
		t.Errorf("Run with nice %d: got no error", engine.MaxNice+1)
	}
}
