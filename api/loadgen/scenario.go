package loadgen

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/distributeai/asyncspeech"
	"github.com/distributeai/asyncspeech/generated"
)

// CreatePath() returns the create operation's path, relative to the base
// URL, from the embedded spec.
func CreatePath() string { return asyncspeech.MustOperation(asyncspeech.OperationCreate).Path }

// ResultPath() returns the result operation's path, relative to the base
// URL, from the embedded spec.
func ResultPath() string { return asyncspeech.MustOperation(asyncspeech.OperationResult).Path }

// Target is the server under load.
type Target struct {
	// BaseURL is the server's root, e.g. http://127.0.0.1:8080.
	BaseURL string
	// APIKey is sent raw in the authorization header, as the vendor documents.
	APIKey string
	// Client sends the requests; build it with NewClient.
	Client *http.Client
}

func (t Target) url(path string) string { return strings.TrimRight(t.BaseURL, "/") + path }

// CreateBody is the create request every scenario sends: valid, short, so
// the measurement is the API's and not the text's.
const CreateBody = `{"model":"Chatterbox","input":"The quick brown fox jumps over the lazy dog."}`

// post sends one JSON POST and drains the response, so its connection goes
// back to the keep-alive pool. It returns the status and the body if keep is
// set (the hot path passes keep=false and allocates no body buffer).
func (t Target) post(ctx context.Context, path string, body []byte, keep bool) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.url(path), bytes.NewReader(body))
	if err != nil {
		return 0, nil, fmt.Errorf("build request %s: %w", path, err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", t.APIKey)
	resp, err := t.Client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	if keep {
		b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		if err != nil {
			return resp.StatusCode, nil, fmt.Errorf("read %s response: %w", path, err)
		}
		return resp.StatusCode, b, nil
	}
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		return resp.StatusCode, nil, fmt.Errorf("read %s response: %w", path, err)
	}
	return resp.StatusCode, nil, nil
}

// CreateTask creates one task and returns its id.
func CreateTask(ctx context.Context, t Target) (string, error) {
	status, body, err := t.post(ctx, CreatePath(), []byte(CreateBody), true)
	if err != nil {
		return "", fmt.Errorf("create task at %s: %w", t.BaseURL, err)
	}
	if status != http.StatusOK {
		return "", fmt.Errorf("create task at %s: %w: %s", t.BaseURL, &StatusError{Code: status, Op: "create"}, snippet(body))
	}
	var created generated.AsyncSpeechCreate200JSONResponseBody
	if err := json.Unmarshal(body, &created); err != nil || created.Id == "" {
		return "", fmt.Errorf("create task at %s: response %s has no id (%v)", t.BaseURL, snippet(body), err)
	}
	return created.Id, nil
}

func snippet(b []byte) string {
	const n = 200
	if len(b) > n {
		return string(b[:n]) + "…"
	}
	return string(b)
}

// Probe is what the result scenario's set-up saw of its task.
type Probe struct {
	// ID is the task the scenario reads.
	ID string
	// Status is the task's status in the set-up call; the measured calls
	// return the same unless the task was still moving.
	Status string
	// Created reports whether the set-up created the task.
	Created bool
}

// Result returns the Op of the `result` scenario: the result call on one
// task, over and over. With an empty taskID it creates the task first and
// waits up to settle for it to finish, so the measured call is the steady
// read of a finished task (a target without workers is measured on its
// unfinished task once settle runs out). Before returning it makes one call
// and checks the answer is a 200 JSON object with an id and a status, so a
// misconfigured target fails loudly instead of producing a fast table of 4xx.
func Result(ctx context.Context, t Target, taskID string, settle time.Duration) (Op, Probe, error) {
	var p Probe
	if taskID == "" {
		id, err := CreateTask(ctx, t)
		if err != nil {
			return nil, p, err
		}
		taskID, p.Created = id, true
		if settle > 0 {
			wait, err := ClientWait(t, 10*time.Millisecond)
			if err != nil {
				return nil, p, err
			}
			wctx, cancel := context.WithTimeout(ctx, settle)
			_, err = wait(wctx, id)
			cancel()
			if err != nil && !errors.Is(err, context.DeadlineExceeded) {
				return nil, p, fmt.Errorf("wait for set-up task %s: %w", id, err)
			}
		}
	}
	p.ID = taskID
	body, err := json.Marshal(generated.AsyncSpeechResultJSONRequestBody{Id: taskID})
	if err != nil {
		return nil, p, fmt.Errorf("encode result request for %q: %w", taskID, err)
	}
	status, resp, err := t.post(ctx, ResultPath(), body, true)
	if err != nil {
		return nil, p, fmt.Errorf("probe result of %s at %s: %w", taskID, t.BaseURL, err)
	}
	var got generated.AsyncSpeechResult200JSONResponseBody
	if status != http.StatusOK {
		return nil, p, fmt.Errorf("probe result of %s at %s: status %d: %s", taskID, t.BaseURL, status, snippet(resp))
	}
	if err := json.Unmarshal(resp, &got); err != nil || got.Id == "" || got.Status == "" {
		return nil, p, fmt.Errorf("probe result of %s at %s: not a result object: %s (%v)", taskID, t.BaseURL, snippet(resp), err)
	}
	p.Status = string(got.Status)
	op := func(ctx context.Context, _ int) Outcome {
		status, _, err := t.post(ctx, ResultPath(), body, false)
		return Outcome{Status: status, Err: err}
	}
	return op, p, nil
}

// Create returns the Op of the `create` scenario: one durable create per
// operation (the server answers only once the task is stored).
func Create(t Target) Op {
	body := []byte(CreateBody)
	return func(ctx context.Context, _ int) Outcome {
		status, _, err := t.post(ctx, CreatePath(), body, false)
		return Outcome{Status: status, Err: err}
	}
}

// WaitFunc waits until task id is terminal and returns its final status
// ("COMPLETED" or "ERROR").
type WaitFunc func(ctx context.Context, id string) (string, error)

// PollWait returns a WaitFunc that polls the result call through the
// generated client every interval. It stands in for the ergonomic client's
// Wait where that is not available.
func PollWait(t Target, interval time.Duration) (WaitFunc, error) {
	c, err := generated.NewClientWithResponses(t.BaseURL,
		generated.WithHTTPClient(t.Client),
		generated.WithRequestEditorFn(func(_ context.Context, req *http.Request) error {
			req.Header.Set("Authorization", t.APIKey)
			return nil
		}))
	if err != nil {
		return nil, fmt.Errorf("client for %s: %w", t.BaseURL, err)
	}
	return func(ctx context.Context, id string) (string, error) {
		tick := time.NewTicker(interval)
		defer tick.Stop()
		for {
			resp, err := c.AsyncSpeechResultWithResponse(ctx, generated.AsyncSpeechResultJSONRequestBody{Id: id})
			if err != nil {
				return "", fmt.Errorf("poll %s: %w", id, err)
			}
			if resp.JSON200 == nil {
				return "", &StatusError{Code: resp.StatusCode(), Op: "poll " + id}
			}
			switch s := resp.JSON200.Status; s {
			case generated.AsyncSpeechResult200JSONResponseBodyStatusCOMPLETED,
				generated.AsyncSpeechResult200JSONResponseBodyStatusERROR:
				return string(s), nil
			}
			select {
			case <-ctx.Done():
				return "", fmt.Errorf("wait for %s: %w", id, ctx.Err())
			case <-tick.C:
			}
		}
	}, nil
}

// StatusError is an unexpected HTTP status met inside a multi-request op.
type StatusError struct {
	Code int
	Op   string
}

func (e *StatusError) Error() string {
	if e.Code >= 200 && e.Code < 300 {
		return fmt.Sprintf("%s: status %d without a valid JSON body", e.Op, e.Code)
	}
	return fmt.Sprintf("%s: unexpected status %d", e.Op, e.Code)
}

// Lifecycle returns the Op of the `lifecycle` scenario: create a task, then
// wait (with wait) until it is terminal. An operation succeeds when the task
// ends COMPLETED; its latency is the task's time to complete as a client sees
// it. taskTimeout bounds each task's wait.
func Lifecycle(t Target, wait WaitFunc, taskTimeout time.Duration) Op {
	return func(ctx context.Context, _ int) Outcome {
		id, err := CreateTask(ctx, t)
		if err != nil {
			return failOutcome(err)
		}
		wctx, cancel := context.WithTimeout(ctx, taskTimeout)
		defer cancel()
		status, err := wait(wctx, id)
		if err != nil {
			return failOutcome(err)
		}
		if status != string(generated.AsyncSpeechResult200JSONResponseBodyStatusCOMPLETED) {
			return Outcome{Status: http.StatusOK, Kind: "task_" + strings.ToLower(status)}
		}
		return Outcome{Status: http.StatusOK}
	}
}

func failOutcome(err error) Outcome {
	var se *StatusError
	if errors.As(err, &se) {
		if se.Code >= 200 && se.Code < 300 {
			// A success status whose body is not the documented object.
			return Outcome{Status: se.Code, Err: err, Kind: "bad_body"}
		}
		return Outcome{Status: se.Code, Err: err, Kind: "status"}
	}
	return Outcome{Err: err}
}
