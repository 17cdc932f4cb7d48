package cluster_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/distributeai/asyncspeech/internal/logtest"
)

// buildSpeechd compiles cmd/speechd once per test binary into a temporary
// directory and returns the executable's path.
func buildSpeechd(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "speechd-cluster-")
		if err != nil {
			buildErr = fmt.Errorf("temp dir: %w", err)
			return
		}
		if _, err := os.Stat(filepath.Join("..", "..", "cmd", "speechd")); err != nil {
			buildErr = fmt.Errorf("%w: %v", errNoSpeechd, err)
			return
		}
		bin := filepath.Join(dir, "speechd")
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		out, err := exec.CommandContext(ctx, "go", "build", "-o", bin, "github.com/distributeai/asyncspeech/cmd/speechd").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build ./cmd/speechd: %w\n%s", err, out)
			return
		}
		builtBin = bin
	})
	if errors.Is(buildErr, errNoSpeechd) {
		t.Skip(buildErr)
	}
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return builtBin
}

// errNoSpeechd: the tree has no cmd/speechd to build (yet).
var errNoSpeechd = errors.New("cmd/speechd is not in this tree; skipping the multi-process tests")

var (
	buildOnce sync.Once
	builtBin  string
	buildErr  error
)

// node is one running speechd process.
type node struct {
	name string
	base string // http://127.0.0.1:PORT
	cmd  *exec.Cmd
	logs *logtest.Buffer
	done chan struct{} // closed when the process has exited
}

var listeningRE = regexp.MustCompile(`listening on (http://[0-9.:\[\]a-z]+)`)

// start runs speechd with args and env and waits for its "listening on"
// line. The process is killed when the test ends.
func start(t testing.TB, bin, name string, env []string, args ...string) *node {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	pr, pw := io.Pipe()
	cmd.Stdout = pw
	cmd.Stderr = pw
	n := &node{name: name, cmd: cmd, logs: &logtest.Buffer{}, done: make(chan struct{})}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 64*1024), 1024*1024)
		for sc.Scan() {
			line := sc.Text()
			fmt.Fprintln(n.logs, line)
			if m := listeningRE.FindStringSubmatch(line); m != nil {
				select {
				case found <- m[1]:
				default:
				}
			}
		}
		_, _ = io.Copy(io.Discard, pr)
	}()
	go func() {
		_ = cmd.Wait()
		pw.Close()
		close(n.done)
	}()
	t.Cleanup(func() {
		n.kill()
		if t.Failed() {
			t.Logf("--- %s output ---\n%s", name, tail(n.logs.String(), 40))
		}
	})
	select {
	case n.base = <-found:
	case <-n.done:
		t.Fatalf("%s exited before listening:\n%s", name, n.logs.String())
	case <-time.After(20 * time.Second):
		t.Fatalf("%s: no 'listening on' line within 20s:\n%s", name, n.logs.String())
	}
	return n
}

// kill sends SIGKILL and waits for the process to be gone.
func (n *node) kill() {
	_ = n.cmd.Process.Kill()
	<-n.done
}

// signal sends sig to the process (SIGSTOP to freeze it, SIGCONT to let it
// go on); one that has exited already is left alone.
func (n *node) signal(sig os.Signal) {
	select {
	case <-n.done:
	default:
		_ = n.cmd.Process.Signal(sig)
	}
}

func tail(s string, lines int) string {
	ls := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(ls) > lines {
		ls = ls[len(ls)-lines:]
	}
	return strings.Join(ls, "\n")
}

// client talks to the nodes' HTTP API with one key.
type client struct {
	http *http.Client
	key  string
}

func newClient(key string) *client {
	return &client{
		http: &http.Client{
			Timeout:   20 * time.Second,
			Transport: &http.Transport{MaxIdleConnsPerHost: 64},
		},
		key: key,
	}
}

func (c *client) post(ctx context.Context, url string, body, out any) error {
	b, err := json.Marshal(body)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(b))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", c.key)
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("POST %s: %w", url, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return fmt.Errorf("POST %s: read body: %w", url, err)
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("POST %s: got status %d, want 200: %s", url, resp.StatusCode, data)
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("POST %s: decode %s: %w", url, data, err)
	}
	return nil
}

// create asks node to create a task for text and returns its id.
func (c *client) create(ctx context.Context, n *node, text string) (string, error) {
	var out struct {
		ID string `json:"id"`
	}
	err := c.post(ctx, n.base+"/async/speech/create", map[string]any{"model": "Chatterbox", "input": text, "voice": "leo"}, &out)
	if err == nil && out.ID == "" {
		err = fmt.Errorf("create on %s: empty id", n.name)
	}
	return out.ID, err
}

// result is the API's view of a task.
type result struct {
	ID      string  `json:"id"`
	Status  string  `json:"status"`
	Created float64 `json:"created"`
	Model   string  `json:"model"`
	Results []struct {
		URL string `json:"url"`
	} `json:"results"`
}

func (c *client) result(ctx context.Context, n *node, id string) (result, error) {
	var out result
	err := c.post(ctx, n.base+"/async/speech/result", map[string]any{"id": id}, &out)
	return out, err
}

// download fetches a result URL with its host replaced by node n's, so a
// link handed out by one node is fetched from another.
func (c *client) download(ctx context.Context, n *node, link string) ([]byte, error) {
	i := strings.Index(link, "/results/")
	if i < 0 {
		return nil, fmt.Errorf("result URL %q has no /results/ path", link)
	}
	url := n.base + link[i:]
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", url, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", url, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s from %s: got status %d, want 200: %.200s", url, n.name, resp.StatusCode, data)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "audio/wav" {
		return nil, fmt.Errorf("GET %s from %s: got Content-Type %q, want audio/wav", url, n.name, ct)
	}
	return data, nil
}

// parallel runs fn(i) for i in [0, n) on workers goroutines and returns
// the first error.
func parallel(ctx context.Context, n, workers int, fn func(ctx context.Context, i int) error) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	next := make(chan int)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				if err := fn(ctx, i); err != nil {
					cancel(err)
				}
			}
		}()
	}
	for i := 0; i < n && ctx.Err() == nil; i++ {
		select {
		case next <- i:
		case <-ctx.Done():
		}
	}
	close(next)
	wg.Wait()
	return context.Cause(ctx)
}

// get fetches url and returns its body on 200.
func (c *client) get(ctx context.Context, url string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: status %d", url, resp.StatusCode)
	}
	return b, nil
}
