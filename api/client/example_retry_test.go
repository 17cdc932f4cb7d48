package client_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"sync/atomic"
	"time"

	"github.com/distributeai/asyncspeech/api/client"
)

// flaky answers 503 to the first failures requests, then a queued task.
func flaky(failures int32) *httptest.Server {
	var n atomic.Int32
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if n.Add(1) <= failures {
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprint(w, `{"message":"overloaded"}`)
			return
		}
		fmt.Fprint(w, `{"id":"0f0e0d0c-0b0a-4900-8800-000000000001","status":"QUEUED","created":1764000000,"model":"Chatterbox","results":[]}`)
	}))
}

func ExampleWithRetryPolicy() {
	srv := flaky(5)
	defer srv.Close()
	c, _ := client.New(client.WithAPIKey("my-key"), client.WithBaseURL(srv.URL),
		client.WithRetryPolicy(client.RetryPolicy{MaxAttempts: 3, MinBackoff: time.Millisecond, MaxBackoff: 10 * time.Millisecond}))

	_, err := c.Result(context.Background(), "0f0e0d0c-0b0a-4900-8800-000000000001")
	var apiErr *client.APIError
	if errors.As(err, &apiErr) {
		fmt.Println(apiErr.StatusCode, apiErr.Attempts, apiErr.Message)
	}
	// Output: 503 3 overloaded
}

func ExampleWithLogger() {
	srv := flaky(1)
	defer srv.Close()
	// Drop the time and the random wait so the output is stable.
	logger := slog.New(slog.NewTextHandler(os.Stdout, &slog.HandlerOptions{
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey || a.Key == "wait" {
				return slog.Attr{}
			}
			return a
		},
	}))
	c, _ := client.New(client.WithAPIKey("my-key"), client.WithBaseURL(srv.URL), client.WithLogger(logger),
		client.WithRetryPolicy(client.RetryPolicy{MinBackoff: time.Millisecond}))

	task, err := c.Result(context.Background(), "0f0e0d0c-0b0a-4900-8800-000000000001")
	fmt.Println(task.Status, err)
	// Output:
	// level=INFO msg="retrying after HTTP error" op=result attempt=1 status=503
	// QUEUED <nil>
}

func ExampleStatus_Terminal() {
	for _, s := range []client.Status{client.StatusProcessing, client.StatusCompleted, client.StatusError} {
		fmt.Println(s, s.Terminal())
	}
	// Output:
	// PROCESSING false
	// COMPLETED true
	// ERROR true
}

func ExampleTask_URLs() {
	task := &client.Task{Status: client.StatusCompleted, Results: []client.Result{{URL: "https://files.example/1.wav"}, {URL: "https://files.example/2.wav"}}}
	fmt.Println(task.URLs())
	// Output: [https://files.example/1.wav https://files.example/2.wav]
}
