package client_test

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/distributeai/asyncspeech/api/client"
)

func TestAPIErrorString(t *testing.T) {
	const id = "0f8fad5b-d9cb-469f-a165-70867728950e"
	tests := []struct {
		name string
		err  *client.APIError
		want string
	}{
		{"message names the task", &client.APIError{Operation: "result", TaskID: id, StatusCode: 404, Message: "task " + id + " not found", Attempts: 1},
			"result: task " + id + " not found (HTTP 404)"},
		{"message without the task gets it after the operation", &client.APIError{Operation: "result", TaskID: id, StatusCode: 500, Message: "boom", Attempts: 4},
			"result of task " + id + ": boom (HTTP 500, after 4 attempts)"},
		{"create has no task", &client.APIError{Operation: "create", StatusCode: 400, Message: "input: too short", Attempts: 1},
			"create: input: too short (HTTP 400)"},
		{"no message: status text", &client.APIError{Operation: "create", StatusCode: 502, Attempts: 1},
			"create: Bad Gateway (HTTP 502)"},
		{"no message, unknown status", &client.APIError{Operation: "download", StatusCode: 599},
			"download: unknown status (HTTP 599)"},
		{"zero attempts as built by hand", &client.APIError{Operation: "download", StatusCode: 403, Message: "bad signature"},
			"download: bad signature (HTTP 403)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.err.Error(); got != tc.want {
				t.Errorf("Error() = %q, want %q", got, tc.want)
			}
		})
	}
}

// TestReturnedErrorStrings checks the messages as the client builds them:
// each says once what failed, and wrapping keeps errors.Is/As working.
func TestReturnedErrorStrings(t *testing.T) {
	const id = "0f0e0d0c-0b0a-4900-8800-000000000001"
	notFound := reply{404, "", `{"message":"task ` + id + ` not found"}`}
	tests := []struct {
		name    string
		replies []reply
		call    func(context.Context, *client.Client) error
		want    string
		// wantStatus is the *APIError's status, 0 when there is none.
		wantStatus int
		wantIs     error
	}{
		{"result 404", []reply{notFound}, result(id),
			"result: task " + id + " not found (HTTP 404)", 404, client.ErrNotFound},
		{"wait 404 is Result's error, no prefix", []reply{notFound}, wait(id),
			"result: task " + id + " not found (HTTP 404)", 404, client.ErrNotFound},
		{"result 500 after retries", []reply{{500, "", `{"message":"boom"}`}}, result(id),
			"result of task " + id + ": boom (HTTP 500, after 4 attempts)", 500, nil},
		{"wait after a poll then 503", []reply{okResult, {503, "", ""}}, wait(id),
			"result of task " + id + ": Service Unavailable (HTTP 503, after 4 attempts)", 503, nil},
		{"create 400", []reply{{400, "", `{"message":"input: must be 2 to 4096 characters"}`}}, create,
			"create: input: must be 2 to 4096 characters (HTTP 400)", 400, nil},
		{"create 502 with an empty body", []reply{{502, "", ""}}, create,
			"create: Bad Gateway (HTTP 502)", 502, nil},
		{"create 200 without an id", []reply{{200, "", `{}`}}, create,
			"create: HTTP 200 body has no id", 0, nil},
		{"result 200 with a broken body", []reply{{200, "", `{"id":`}}, result(id),
			"result of task " + id + ": decode HTTP 200 body: unexpected end of JSON input", 0, nil},
		{"result with the context cancelled", []reply{okResult}, func(ctx context.Context, c *client.Client) error {
			ctx, cancel := context.WithCancel(ctx)
			cancel()
			return result(id)(ctx, c)
		}, "result of task " + id + ": context canceled", 0, context.Canceled},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := newScripted(t, tc.replies...)
			err := tc.call(context.Background(), newClient(t, srv.URL))
			if err == nil || err.Error() != tc.want {
				t.Fatalf("got error %v, want %q", err, tc.want)
			}
			var apiErr *client.APIError
			if got := errors.As(err, &apiErr); got != (tc.wantStatus != 0) {
				t.Errorf("errors.As(%v, *APIError) = %v, want %v", err, got, tc.wantStatus != 0)
			} else if got && apiErr.StatusCode != tc.wantStatus {
				t.Errorf("got status %d, want %d", apiErr.StatusCode, tc.wantStatus)
			}
			if tc.wantIs != nil && !errors.Is(err, tc.wantIs) {
				t.Errorf("errors.Is(%v, %v) = false, want true", err, tc.wantIs)
			}
			if got, want := client.IsNotFound(err), tc.wantStatus == 404; got != want {
				t.Errorf("IsNotFound(%v) = %v, want %v", err, got, want)
			}
		})
	}

	t.Run("download refused", func(t *testing.T) {
		f := newTestFakeAPI(t, client.StatusCompleted)
		c := f.client(t)
		ctx := context.Background()
		task, err := c.Speak(ctx, client.CreateParams{Input: "hello"})
		if err != nil {
			t.Fatalf("speak: %v", err)
		}
		task.Results[0].URL = strings.Replace(task.Results[0].URL, "secret", "forged", 1)
		_, err = c.Download(ctx, task, &bytes.Buffer{})
		want := "task " + task.ID + " result 0: download: bad signature (HTTP 403)"
		var apiErr *client.APIError
		if err == nil || err.Error() != want || !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusForbidden {
			t.Errorf("got %v, want %q wrapping a 403 *APIError", err, want)
		}
	})

	t.Run("contract violation", func(t *testing.T) {
		srv := newScripted(t, reply{200, "", `{"id":"a","status":"DONE","created":1,"model":"m","results":[]}`})
		err := result(id)(context.Background(), newClient(t, srv.URL, client.WithResponseValidation()))
		var drift *client.ContractError
		prefix := "result of task " + id + ": HTTP 200 response violates the contract: "
		if !errors.As(err, &drift) || drift.TaskID != id || !strings.HasPrefix(err.Error(), prefix) {
			t.Errorf("got %v, want a *ContractError starting %q", err, prefix)
		}
	})
}

func result(id string) func(context.Context, *client.Client) error {
	return func(ctx context.Context, c *client.Client) error {
		_, err := c.Result(ctx, id)
		return err
	}
}

func wait(id string) func(context.Context, *client.Client) error {
	return func(ctx context.Context, c *client.Client) error {
		ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		_, err := c.Wait(ctx, id, client.WithPollInterval(time.Millisecond))
		return err
	}
}

func create(ctx context.Context, c *client.Client) error {
	_, err := c.Create(ctx, client.CreateParams{Input: "hello"})
	return err
}
