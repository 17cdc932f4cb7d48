package client_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"time"

	"github.com/distributeai/asyncspeech/api/client"
)

// Each example starts its own fake server (fakeAPI, in fake_test.go) so it
// runs offline; a real program passes nothing and gets the vendor's server
// and the key from DISTRIBUTE_API_KEY.

// The whole asynchronous flow: text in, WAV file out.
func Example() {
	srv := newFakeAPI()
	defer srv.Close()
	dir, _ := os.MkdirTemp("", "example")
	defer os.RemoveAll(dir)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()

	// A real program calls client.New() and leaves key and server to
	// DISTRIBUTE_API_KEY and DISTRIBUTE_BASE_URL.
	c, err := client.New(client.WithAPIKey("my-key"), client.WithBaseURL(srv.URL))
	if err != nil {
		log.Fatal(err)
	}
	task, err := c.Speak(ctx, client.CreateParams{Input: "Hello, world."})
	if err == nil {
		_, err = c.DownloadFile(ctx, task, filepath.Join(dir, "hello.wav"))
	}
	if err != nil {
		log.Fatal(err)
	}
	b, _ := os.ReadFile(filepath.Join(dir, "hello.wav"))
	fmt.Println(task.Status, string(b[:4]))
	// Output: COMPLETED RIFF
}

func ExampleNew() {
	srv := newFakeAPI()
	defer srv.Close()

	c, err := client.New(
		client.WithAPIKey("my-key"), // default: $DISTRIBUTE_API_KEY
		client.WithBaseURL(srv.URL), // default: $DISTRIBUTE_BASE_URL, then https://api.distribute.ai
		client.WithHTTPClient(&http.Client{}),
		client.WithUserAgent("my-app/1.0"),
		client.WithRetryPolicy(client.RetryPolicy{MaxAttempts: 3}),
	)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(c.BaseURL() == srv.URL)
	// Output: true
}

func ExampleClient_Create() {
	srv := newFakeAPI()
	defer srv.Close()
	c, _ := client.New(client.WithAPIKey("my-key"), client.WithBaseURL(srv.URL))

	id, err := c.Create(context.Background(), client.CreateParams{
		Input:       "Hello from Go.",
		Voice:       client.VoiceNora,
		Temperature: new(0.7),
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(len(id))
	// Output: 36
}

func ExampleClient_Result() {
	srv := newFakeAPI(client.StatusQueued, client.StatusCompleted)
	defer srv.Close()
	c, _ := client.New(client.WithAPIKey("my-key"), client.WithBaseURL(srv.URL))
	ctx := context.Background()

	id, _ := c.Create(ctx, client.CreateParams{Input: "Hello."})
	task, err := c.Result(ctx, id)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(task.Status, task.Created.UTC().Format(time.RFC3339Nano), task.Finished.IsZero())
	// Output: QUEUED 2025-11-24T16:00:00.123Z true
}

func ExampleClient_Wait() {
	srv := newFakeAPI(client.StatusCreated, client.StatusQueued, client.StatusProcessing, client.StatusCompleted)
	defer srv.Close()
	c, _ := client.New(client.WithAPIKey("my-key"), client.WithBaseURL(srv.URL))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute) // the only time limit
	defer cancel()

	id, _ := c.Create(ctx, client.CreateParams{Input: "Hello."})
	task, err := c.Wait(ctx, id,
		client.WithPollInterval(10*time.Millisecond),
		client.WithMaxPollInterval(50*time.Millisecond),
		client.WithStatusCallback(func(t *client.Task) { fmt.Println("now", t.Status) }))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(task.Status, len(task.Results), task.Finished.Sub(task.Created))
	// Output:
	// now CREATED
	// now QUEUED
	// now PROCESSING
	// now COMPLETED
	// COMPLETED 1 2.377s
}

func ExampleClient_Wait_taskFailed() {
	srv := newFakeAPI(client.StatusProcessing, client.StatusError)
	defer srv.Close()
	c, _ := client.New(client.WithAPIKey("my-key"), client.WithBaseURL(srv.URL))
	ctx := context.Background()

	id, _ := c.Create(ctx, client.CreateParams{Input: "Hello."})
	_, err := c.Wait(ctx, id, client.WithPollInterval(time.Millisecond))
	var failed *client.TaskFailedError
	fmt.Println(errors.As(err, &failed), failed.Task.Status, errors.Is(err, client.ErrTaskFailed))
	// Output: true ERROR true
}

func ExampleClient_Speak() {
	srv := newFakeAPI()
	defer srv.Close()
	c, _ := client.New(client.WithAPIKey("my-key"), client.WithBaseURL(srv.URL))

	task, err := c.Speak(context.Background(), client.CreateParams{Input: "Hello, world."},
		client.WithPollInterval(time.Millisecond))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(task.Status, len(task.URLs()))
	// Output: COMPLETED 1
}

func ExampleClient_Download() {
	srv := newFakeAPI()
	defer srv.Close()
	c, _ := client.New(client.WithAPIKey("my-key"), client.WithBaseURL(srv.URL))
	ctx := context.Background()

	task, _ := c.Speak(ctx, client.CreateParams{Input: "Hello."}, client.WithPollInterval(time.Millisecond))
	var buf bytes.Buffer
	n, err := c.Download(ctx, task, &buf)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(n, string(buf.Bytes()[:4]), string(buf.Bytes()[8:12]))
	// Output: 1644 RIFF WAVE
}

func ExampleClient_DownloadURL() {
	srv := newFakeAPI()
	defer srv.Close()
	c, _ := client.New(client.WithAPIKey("my-key"), client.WithBaseURL(srv.URL))
	ctx := context.Background()

	task, _ := c.Speak(ctx, client.CreateParams{Input: "Hello."}, client.WithPollInterval(time.Millisecond))
	var buf bytes.Buffer
	n, err := c.DownloadURL(ctx, task.Results[0].URL, &buf)
	fmt.Println(n, err)
	// Output: 1644 <nil>
}

func ExampleClient_DownloadFile() {
	srv := newFakeAPI()
	defer srv.Close()
	c, _ := client.New(client.WithAPIKey("my-key"), client.WithBaseURL(srv.URL))
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "example")
	defer os.RemoveAll(dir)

	task, _ := c.Speak(ctx, client.CreateParams{Input: "Hello."}, client.WithPollInterval(time.Millisecond))
	paths, err := c.DownloadFile(ctx, task, filepath.Join(dir, "hello.wav"))
	if err != nil {
		fmt.Println(err)
		return
	}
	fi, _ := os.Stat(paths[0])
	fmt.Println(filepath.Base(paths[0]), fi.Size())
	// Output: hello.wav 1644
}

func ExampleIsNotFound() {
	srv := newFakeAPI()
	defer srv.Close()
	c, err := client.New(client.WithAPIKey("my-key"), client.WithBaseURL(srv.URL))
	if err != nil {
		log.Fatal(err)
	}

	task, err := c.Result(context.Background(), "00000000-0000-4000-8000-000000000000")
	switch {
	case client.IsNotFound(err):
		// The server does not say whether the task never existed or
		// belongs to another API key.
		fmt.Println("no such task:", err)
	case err != nil:
		log.Fatal(err)
	default:
		fmt.Println(task.Status)
	}
	// Output: no such task: result: task 00000000-0000-4000-8000-000000000000 not found (HTTP 404)
}

func ExampleWithResponseValidation() {
	// A server that drifted: "status" is not one of the contract's values.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"id":"x","status":"DONE","created":1,"model":"Chatterbox","results":[]}`)
	}))
	defer srv.Close()
	c, _ := client.New(client.WithAPIKey("my-key"), client.WithBaseURL(srv.URL), client.WithResponseValidation())

	_, err := c.Result(context.Background(), "00000000-0000-4000-8000-000000000000")
	var drift *client.ContractError
	fmt.Println(errors.As(err, &drift), drift.Operation, drift.StatusCode)
	// Output: true result 200
}

func ExampleTimeFromUnix() {
	secs := client.TimeFromUnix(1764000000.5)
	millis := client.TimeFromUnix(1764000000500)
	fmt.Println(secs.Equal(millis), secs.UTC().Format(time.RFC3339Nano))
	// Output: true 2025-11-24T16:00:00.5Z
}

func ExampleDefaultRetryPolicy() {
	p := client.DefaultRetryPolicy()
	fmt.Println(p.MaxAttempts, p.MinBackoff, p.MaxBackoff, p.MaxRetryAfter)
	// Output: 4 250ms 5s 1m0s
}
