package loadgen

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Hostile is one body of the abuse scenario: what a client with one valid
// key can send to make a server spend memory, CPU or disk.
type Hostile struct {
	// Name says what the body tries.
	Name string
	// Path is the operation it is sent to.
	Path string
	// Body is sent as is; Chunked sends it without a Content-Length, so
	// only a limit on what is read can stop it.
	Body    []byte
	Chunked bool
}

// nestedObjects is a create body of about size bytes with an undeclared
// property holding an array of small objects: decoded into generic maps it
// costs tens of times its size.
func nestedObjects(size int) []byte {
	head, tail := `{"model":"Chatterbox","input":"hi","x":[`, `{"a":1}]}`
	n := max((size-len(head)-len(tail))/len(`{"a":1},`), 0)
	return []byte(head + strings.Repeat(`{"a":1},`, n) + tail)
}

// HostileBodies returns the abuse scenario's bodies: oversized and deeply
// structured JSON for the validator, and valid creates whose audio would be
// long (every emoji is read out by name) for the engine and the disk.
func HostileBodies() []Hostile {
	create, result := CreatePath(), ResultPath()
	return []Hostile{
		{Name: "1 MiB of nested objects", Path: create, Body: nestedObjects(1 << 20)},
		{Name: "1 MiB of nested objects, chunked", Path: create, Body: nestedObjects(1 << 20), Chunked: true},
		{Name: "48 KiB of nested objects", Path: create, Body: nestedObjects(48 << 10)},
		{Name: "48 KiB of nested arrays", Path: create, Body: []byte(`{"model":"Chatterbox","input":"hi","x":` + strings.Repeat("[", 24<<10) + strings.Repeat("]", 24<<10) + `}`)},
		{Name: "null where a number goes", Path: create, Body: []byte(`{"model":"Chatterbox","input":"hi","temperature":null}`)},
		{Name: "result call of nested objects", Path: result, Body: []byte(`{"id":[` + strings.Repeat(`{"a":1},`, 4000) + `{"a":1}]}`)},
		{Name: "4096 emoji (18 minutes of espeak audio)", Path: create, Body: []byte(`{"model":"Chatterbox","input":"` + strings.Repeat("😀 ", 2048) + `"}`)},
	}
}

// Abuse returns the hostile Op: each call sends the next of bodies (round
// robin across all workers) and reports the status. Any answer, refusal or
// not, is an outcome: the scenario's verdict is the valid client's, and the
// server's memory.
func Abuse(t Target, bodies []Hostile) Op {
	var next atomic.Uint64
	return func(ctx context.Context, _ int) Outcome {
		h := bodies[(next.Add(1)-1)%uint64(len(bodies))]
		var body io.Reader = bytes.NewReader(h.Body)
		if h.Chunked {
			body = io.MultiReader(body) // hides the length: sent chunked
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.url(h.Path), body)
		if err != nil {
			return Outcome{Err: err}
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", t.APIKey)
		resp, err := t.Client.Do(req)
		if err != nil {
			return Outcome{Err: err}
		}
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
		resp.Body.Close()
		return Outcome{Status: resp.StatusCode}
	}
}

// RSSWatch samples a local process's resident memory (Linux /proc) until
// stopped, keeping the peak; the abuse scenario reports it for a server it
// was told the pid of.
type RSSWatch struct {
	pid  int
	peak atomic.Int64
	stop chan struct{}
	wg   sync.WaitGroup
}

// WatchRSS starts sampling pid every interval. It fails at once when the
// process's memory cannot be read.
func WatchRSS(pid int, interval time.Duration) (*RSSWatch, error) {
	rss, err := ReadRSS(pid)
	if err != nil {
		return nil, err
	}
	w := &RSSWatch{pid: pid, stop: make(chan struct{})}
	w.peak.Store(rss)
	w.wg.Go(func() {
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-w.stop:
				return
			case <-t.C:
				if rss, err := ReadRSS(pid); err == nil && rss > w.peak.Load() {
					w.peak.Store(rss)
				}
			}
		}
	})
	return w, nil
}

// Stop ends sampling and returns the peak resident memory in bytes.
func (w *RSSWatch) Stop() int64 {
	close(w.stop)
	w.wg.Wait()
	if rss, err := ReadRSS(w.pid); err == nil && rss > w.peak.Load() {
		w.peak.Store(rss)
	}
	return w.peak.Load()
}

// ReadRSS returns a process's resident memory in bytes (VmRSS of
// /proc/PID/status).
func ReadRSS(pid int) (int64, error) {
	f, err := os.Open("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, fmt.Errorf("read memory of process %d: %w", pid, err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			if err != nil {
				return 0, fmt.Errorf("process %d: VmRSS %q: %w", pid, rest, err)
			}
			return kb << 10, nil
		}
	}
	return 0, fmt.Errorf("process %d: no VmRSS in /proc/%d/status", pid, pid)
}
