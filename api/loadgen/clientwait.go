package loadgen

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/distributeai/asyncspeech/api/client"
)

// ClientWait returns a WaitFunc built on the ergonomic client's Wait, the
// way a program using this module waits for a task. Polls are drawn
// uniformly from [0, poll) (Wait's full jitter with a fixed window), and the
// client's retries are off: a load tool must count a failed call, not hide
// it behind a backoff.
func ClientWait(t Target, poll time.Duration) (WaitFunc, error) {
	c, err := client.New(
		client.WithBaseURL(t.BaseURL),
		client.WithAPIKey(t.APIKey),
		client.WithHTTPClient(t.Client),
		client.WithRetryPolicy(client.RetryPolicy{MaxAttempts: 1}),
	)
	if err != nil {
		return nil, fmt.Errorf("client for %s: %w", t.BaseURL, err)
	}
	return func(ctx context.Context, id string) (string, error) {
		task, err := c.Wait(ctx, id, client.WithPollInterval(poll), client.WithMaxPollInterval(poll))
		var failed *client.TaskFailedError
		var apiErr *client.APIError
		switch {
		case errors.As(err, &failed):
			return string(client.StatusError), nil
		case errors.As(err, &apiErr):
			return "", fmt.Errorf("wait for %s: %w", id, &StatusError{Code: apiErr.StatusCode, Op: "poll " + id})
		case err != nil:
			return "", fmt.Errorf("wait for %s: %w", id, err)
		}
		return string(task.Status), nil
	}, nil
}
