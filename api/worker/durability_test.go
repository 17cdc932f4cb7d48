package worker_test

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/distributeai/asyncspeech/api/task"

	"github.com/distributeai/asyncspeech/api/engine"
	"github.com/distributeai/asyncspeech/api/store/sqlite"
	"github.com/distributeai/asyncspeech/api/store/storetest"
	"github.com/distributeai/asyncspeech/api/worker"
)

// childDirEnv makes the test binary run TestDurabilityChild as a worker
// process on the SQLite store in that directory.
const childDirEnv = "ASYNCSPEECH_DURABILITY_CHILD_DIR"

// loggingEngine appends one line per invocation ("<text> <pid> <n>") to a
// log file before answering with that same line as audio, so the parent can
// tell which invocation's output the store kept. Each run takes a few ms.
type loggingEngine struct {
	mu  sync.Mutex
	f   *os.File
	n   int
	pid int
}

func (e *loggingEngine) Name() string { return "durability-logging-engine" }

func (e *loggingEngine) Synthesize(ctx context.Context, req engine.Request) (engine.Audio, error) {
	e.mu.Lock()
	e.n++
	line := fmt.Sprintf("%s %d %d", req.Text, e.pid, e.n)
	_, err := e.f.WriteString(line + "\n") // one O_APPEND write: whole lines even across kills
	e.mu.Unlock()
	if err != nil {
		return engine.Audio{}, fmt.Errorf("log invocation: %w", err)
	}
	select {
	case <-time.After(time.Duration(2+rand.IntN(4)) * time.Millisecond):
	case <-ctx.Done():
		return engine.Audio{}, ctx.Err()
	}
	return engine.Audio{ContentType: "audio/wav", Data: []byte(line)}, nil
}

// TestDurabilityChild is the worker process TestDurability starts and kills;
// it does nothing unless started by it.
func TestDurabilityChild(t *testing.T) {
	dir := os.Getenv(childDirEnv)
	if dir == "" {
		t.Skip("helper process for TestDurability; runs only when started by it")
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	st, err := sqlite.Open(ctx, filepath.Join(dir, "tasks.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	f, err := os.OpenFile(filepath.Join(dir, "engine.log"), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	p := worker.New(st, &loggingEngine{f: f, pid: os.Getpid()}, worker.Options{
		Workers:        4,
		Lease:          300 * time.Millisecond,
		HeartbeatEvery: 100 * time.Millisecond,
		RequeueEvery:   50 * time.Millisecond,
		PollInterval:   20 * time.Millisecond,
		Timeout:        10 * time.Second,
		MaxAttempts:    1000, // a task may be interrupted by every kill
		Logger:         quietLogger(),
		WorkerID:       "durability-child",
	})
	if err := p.Run(ctx); err != nil {
		t.Fatal(err)
	}
}

// engineLog reads the invocation log: for each text, the lines logged.
func engineLog(t *testing.T, path string) map[string][]string {
	t.Helper()
	f, err := os.Open(path)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := make(map[string][]string)
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		text, _, ok := strings.Cut(line, " ")
		if !ok {
			t.Fatalf("engine log: malformed line %q", line)
		}
		out[text] = append(out[text], line)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func logLines(path string) int {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	return strings.Count(string(b), "\n")
}

// TestDurability creates 500 tasks while a real worker process runs on the
// SQLite file, kills it with SIGKILL at random points during processing three
// times, restarts it on the same directory, and checks that every accepted
// task ends COMPLETED with exactly one stored result, the output of one
// logged engine invocation.
func TestDurability(t *testing.T) {
	if testing.Short() {
		t.Skip("kills and restarts a child process; skipped with -short")
	}
	const total, kills = 500, 3
	dir := t.TempDir()
	logPath := filepath.Join(dir, "engine.log")
	ctx := context.Background()
	// The parent plays the API node: it accepts creates on the same file.
	api, err := sqlite.Open(ctx, filepath.Join(dir, "tasks.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer api.Close()

	startChild := func(round int) *exec.Cmd {
		t.Helper()
		cmd := exec.Command(os.Args[0], "-test.run=^TestDurabilityChild$")
		cmd.Env = append(os.Environ(), childDirEnv+"="+dir)
		out, err := os.Create(filepath.Join(dir, fmt.Sprintf("child-%d.log", round)))
		if err != nil {
			t.Fatal(err)
		}
		defer out.Close()
		cmd.Stdout, cmd.Stderr = out, out
		if err := cmd.Start(); err != nil {
			t.Fatalf("start child: %v", err)
		}
		return cmd
	}
	var tasks []task.Task
	createBatch := func(n int) {
		t.Helper()
		var mu sync.Mutex
		var wg sync.WaitGroup
		for g := range 4 {
			wg.Go(func() {
				for range n / 4 {
					tk := storetest.NewTask(storetest.Owner(fmt.Sprint("owner", g)), time.Now())
					tk.Params.Input = tk.ID
					if err := api.Create(ctx, tk); err != nil {
						t.Errorf("Create: %v", err)
						return
					}
					mu.Lock()
					tasks = append(tasks, tk)
					mu.Unlock()
				}
			})
		}
		wg.Wait()
	}

	for round := range kills {
		child := startChild(round)
		before := logLines(logPath)
		createBatch(total / (kills + 1))
		// Kill only once the child is processing: after a random number
		// (5 to 64) of further engine invocations, plus a random delay.
		target := before + 5 + rand.IntN(60)
		deadline := time.Now().Add(20 * time.Second)
		for logLines(logPath) < target && time.Now().Before(deadline) {
			time.Sleep(time.Millisecond)
		}
		time.Sleep(time.Duration(rand.IntN(40)) * time.Millisecond)
		if err := child.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatalf("kill child: %v", err)
		}
		_ = child.Wait()
		c, err := api.Counts(ctx)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("kill %d: engine invocations so far %d, statuses %v", round+1, logLines(logPath), c)
	}

	child := startChild(kills)
	createBatch(total - len(tasks))
	deadline := time.Now().Add(40 * time.Second)
	for {
		c, err := api.Counts(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if c[task.StatusCompleted]+c[task.StatusError] == total {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not finished within 40s after the last restart: %v", c)
		}
		time.Sleep(20 * time.Millisecond)
	}
	_ = child.Process.Signal(syscall.SIGTERM)
	_ = child.Wait()

	if len(tasks) != total {
		t.Fatalf("accepted %d tasks, want %d", len(tasks), total)
	}
	invocations := engineLog(t, logPath)
	reruns := 0
	for _, tk := range tasks {
		got, err := api.Get(ctx, tk.ID, tk.Owner)
		if err != nil {
			t.Errorf("task %s lost: %v", tk.ID, err)
			continue
		}
		if got.Status != task.StatusCompleted {
			t.Errorf("task %s: got status %s (reason %q), want COMPLETED", tk.ID, got.Status, got.Reason)
			continue
		}
		if len(got.Results) != 1 {
			t.Errorf("task %s: got %d stored results, want exactly 1", tk.ID, len(got.Results))
		}
		a, err := storetest.ReadAll(ctx, api, tk.ID, 0)
		if err != nil {
			t.Errorf("task %s: audio: %v", tk.ID, err)
			continue
		}
		runs := invocations[tk.ID]
		if len(runs) == 0 {
			t.Errorf("task %s: completed without a logged engine invocation", tk.ID)
		}
		reruns += max(0, len(runs)-1)
		found := false
		for _, line := range runs {
			found = found || line == string(a.Data)
		}
		if !found {
			t.Errorf("task %s: stored audio %q is not the output of any of its invocations %v", tk.ID, a.Data, runs)
		}
	}
	c, err := api.Counts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if c[task.StatusCompleted] != total {
		t.Errorf("store holds %d COMPLETED tasks, want %d (%v)", c[task.StatusCompleted], total, c)
	}
	t.Logf("%d tasks completed after %d kills; %d engine runs interrupted by a kill and redone", total, kills, reruns)
}
