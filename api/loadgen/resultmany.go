package loadgen

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"github.com/distributeai/asyncspeech/api/task"
	"github.com/distributeai/asyncspeech/generated"
)

// ShortCreateBody is the create request of ResultMany's set-up: the
// shortest valid input, so thousands of tasks store little audio. The
// result call's answer has the same size whatever the input.
const ShortCreateBody = `{"model":"Chatterbox","input":"ok"}`

// ManyOptions configure ResultMany.
type ManyOptions struct {
	// Tasks is how many distinct tasks are polled (at least 1).
	Tasks int
	// AnyID makes up Tasks random UUIDv4 ids instead of creating tasks, for
	// a target that answers any id (the fixed-body baselines).
	AnyID bool
	// IDs, when set, are existing tasks to poll (Tasks is ignored): no
	// task is created, each is read in the set-up as usual.
	IDs []string
	// Workers create the tasks concurrently (0 = 8).
	Workers int
	// Settle bounds the whole set-up: creating the tasks (pacing on 429
	// and 503, which a server's admission limits answer) and then waiting
	// for at most MaxUnfinished of them to be unfinished.
	Settle time.Duration
	// MaxUnfinished is the share of tasks allowed to be unfinished when
	// measuring starts (0 = 0.05): most are COMPLETED, a few still move.
	MaxUnfinished float64
}

// ManyProbe is what ResultMany's set-up saw.
type ManyProbe struct {
	// IDs are the polled tasks, in polling order.
	IDs []string
	// Statuses counts the tasks by the status of their last set-up read.
	Statuses map[string]int
	// Created is how many tasks the set-up created.
	Created int
}

// StatusMix renders Statuses as "COMPLETED=9500 QUEUED=500", sorted.
func (p ManyProbe) StatusMix() string {
	keys := make([]string, 0, len(p.Statuses))
	for k := range p.Statuses {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for i, k := range keys {
		if i > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, "%s=%d", k, p.Statuses[k])
	}
	return b.String()
}

// ResultMany returns the Op of the `result` scenario with --tasks N: the
// result call on N distinct tasks, round-robin across all workers, so no
// cache of the target looks better than it is on one hot id. The set-up
// creates the tasks (or makes up ids, AnyID), then reads each until at most
// MaxUnfinished of them are unfinished or Settle runs out; every answer
// must be a 200 result object.
func ResultMany(ctx context.Context, t Target, opts ManyOptions) (Op, ManyProbe, error) {
	p := ManyProbe{Statuses: map[string]int{}}
	if len(opts.IDs) > 0 {
		opts.Tasks = len(opts.IDs)
	}
	if opts.Tasks < 1 {
		return nil, p, fmt.Errorf("result scenario: %d tasks, want at least 1", opts.Tasks)
	}
	workers := opts.Workers
	if workers <= 0 {
		workers = 8
	}
	maxUnfinished := opts.MaxUnfinished
	if maxUnfinished <= 0 {
		maxUnfinished = 0.05
	}
	sctx := ctx
	if opts.Settle > 0 {
		var cancel context.CancelFunc
		sctx, cancel = context.WithTimeout(ctx, opts.Settle)
		defer cancel()
	}
	p.IDs = make([]string, opts.Tasks)
	switch {
	case len(opts.IDs) > 0:
		copy(p.IDs, opts.IDs)
	case opts.AnyID:
		for i := range p.IDs {
			p.IDs[i] = uuid.NewString()
		}
	default:
		if err := createMany(sctx, t, p.IDs, workers); err != nil {
			return nil, p, err
		}
		p.Created = len(p.IDs)
	}
	// Read every task; repeat while too many are unfinished.
	for {
		unfinished, err := readAll(sctx, t, p.IDs, workers, p.Statuses)
		if err != nil {
			return nil, p, err
		}
		if opts.AnyID || len(opts.IDs) > 0 || float64(unfinished) <= maxUnfinished*float64(len(p.IDs)) || sctx.Err() != nil {
			break
		}
		select {
		case <-sctx.Done():
		case <-time.After(200 * time.Millisecond):
		}
	}
	bodies := make([][]byte, len(p.IDs))
	for i, id := range p.IDs {
		bodies[i] = []byte(`{"id":"` + id + `"}`)
	}
	var next atomic.Uint64
	op := func(ctx context.Context, _ int) Outcome {
		i := next.Add(1) - 1
		status, _, err := t.post(ctx, ResultPath(), bodies[i%uint64(len(bodies))], false)
		return Outcome{Status: status, Err: err}
	}
	return op, p, nil
}

// inParallel calls do(i) for every i in [0, n) from workers goroutines; a
// worker stops at its first error, and the errors are joined.
func inParallel(n, workers int, do func(i int) error) error {
	var next atomic.Int64
	var mu sync.Mutex
	var errs []error
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := int(next.Add(1) - 1); i < n; i = int(next.Add(1) - 1) {
				if err := do(i); err != nil {
					mu.Lock()
					errs = append(errs, err)
					mu.Unlock()
					return
				}
			}
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// createMany creates len(ids) tasks with workers concurrent clients,
// waiting a moment and retrying on 429 and 503 (admission limits).
func createMany(ctx context.Context, t Target, ids []string, workers int) error {
	body := []byte(ShortCreateBody)
	return inParallel(len(ids), workers, func(i int) error {
		for {
			status, resp, err := t.post(ctx, CreatePath(), body, true)
			if err != nil {
				return fmt.Errorf("create task %d of %d at %s: %w", i+1, len(ids), t.BaseURL, err)
			}
			if status == http.StatusTooManyRequests || status == http.StatusServiceUnavailable {
				select {
				case <-ctx.Done():
					return fmt.Errorf("create task %d of %d: still refused (%d) when set-up time ran out: %w", i+1, len(ids), status, ctx.Err())
				case <-time.After(50 * time.Millisecond):
				}
				continue
			}
			var created generated.AsyncSpeechCreate200JSONResponseBody
			if status != http.StatusOK || json.Unmarshal(resp, &created) != nil || created.Id == "" {
				return fmt.Errorf("create task %d of %d at %s: status %d: %s", i+1, len(ids), t.BaseURL, status, snippet(resp))
			}
			ids[i] = created.Id
			return nil
		}
	})
}

// readAll reads every id once and counts the statuses into counts (reset
// first); it returns how many are unfinished.
func readAll(ctx context.Context, t Target, ids []string, workers int, counts map[string]int) (int, error) {
	var mu sync.Mutex
	clear(counts)
	unfinished := 0
	err := inParallel(len(ids), workers, func(i int) error {
		status, resp, err := t.post(context.WithoutCancel(ctx), ResultPath(), []byte(`{"id":"`+ids[i]+`"}`), true)
		var got generated.AsyncSpeechResult200JSONResponseBody
		if err == nil && (status != http.StatusOK || json.Unmarshal(resp, &got) != nil || got.Status == "") {
			err = fmt.Errorf("status %d: %s", status, snippet(resp))
		}
		if err != nil {
			return fmt.Errorf("read task %s at %s: %w", ids[i], t.BaseURL, err)
		}
		mu.Lock()
		defer mu.Unlock()
		counts[string(got.Status)]++
		if !task.Status(got.Status).Terminal() {
			unfinished++
		}
		return nil
	})
	return unfinished, err
}
