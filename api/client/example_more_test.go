package client_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"time"

	"github.com/distributeai/asyncspeech/api/client"
)

func ExampleWithAPIKey() {
	srv := newFakeAPI()
	defer srv.Close()

	// A key from the program's own configuration (a secrets manager, a
	// flag) instead of $DISTRIBUTE_API_KEY.
	key := "my-key"
	c, err := client.New(client.WithAPIKey(key), client.WithBaseURL(srv.URL))
	if err != nil {
		log.Fatal(err)
	}
	if _, err := c.Create(context.Background(), client.CreateParams{Input: "Hello."}); err != nil {
		log.Fatal(err)
	}
	fmt.Println("server saw Authorization:", srv.lastCreateHeader("Authorization"))
	// Output: server saw Authorization: my-key
}

func ExampleWithBaseURL() {
	// A speechd published by a reverse proxy under /speech.
	srv := newFakeAPIUnder("/speech")
	defer srv.Close()
	ctx := context.Background()

	c, err := client.New(client.WithAPIKey("my-key"), client.WithBaseURL(srv.URL+"/speech"))
	if err != nil {
		log.Fatal(err)
	}
	id, err := c.Create(ctx, client.CreateParams{Input: "Hello."}) // POST {base}/async/speech/create
	if err != nil {
		log.Fatal(err)
	}
	task, err := c.Result(ctx, id)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(task.Status)
	// Output: QUEUED
}

func ExampleClient_BaseURL() {
	c, err := client.New(client.WithAPIKey("my-key"), client.WithBaseURL("http://speechd.internal:8080/speech"))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("talking to", c.BaseURL())
	// Output: talking to http://speechd.internal:8080/speech
}

// logRequests is an http.RoundTripper that prints each request before
// passing it on, as a tracing or metrics middleware would.
type logRequests struct{ next http.RoundTripper }

func (l logRequests) RoundTrip(r *http.Request) (*http.Response, error) {
	fmt.Println(r.Method, r.URL.Path)
	return l.next.RoundTrip(r)
}

func ExampleWithHTTPClient() {
	srv := newFakeAPI()
	defer srv.Close()
	ctx := context.Background()

	hc := &http.Client{Transport: logRequests{next: &http.Transport{
		ResponseHeaderTimeout: 30 * time.Second,
		MaxIdleConnsPerHost:   16,
	}}}
	c, err := client.New(client.WithAPIKey("my-key"), client.WithBaseURL(srv.URL), client.WithHTTPClient(hc))
	if err != nil {
		log.Fatal(err)
	}
	id, err := c.Create(ctx, client.CreateParams{Input: "Hello."})
	if err != nil {
		log.Fatal(err)
	}
	task, err := c.Result(ctx, id)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(task.Status)
	// Output:
	// POST /async/speech/create
	// POST /async/speech/result
	// QUEUED
}

func ExampleWithUserAgent() {
	srv := newFakeAPI()
	defer srv.Close()

	c, err := client.New(client.WithAPIKey("my-key"), client.WithBaseURL(srv.URL), client.WithUserAgent("podcast-builder/2.1"))
	if err != nil {
		log.Fatal(err)
	}
	if _, err := c.Create(context.Background(), client.CreateParams{Input: "Hello."}); err != nil {
		log.Fatal(err)
	}
	fmt.Println("server saw User-Agent:", srv.lastCreateHeader("User-Agent"))
	// Output: server saw User-Agent: podcast-builder/2.1
}

func ExampleWithPollInterval() {
	srv := newFakeAPI()
	defer srv.Close()
	c, err := client.New(client.WithAPIKey("my-key"), client.WithBaseURL(srv.URL))
	if err != nil {
		log.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	// A short text on a fast engine: look sooner than the default 250 ms.
	task, err := c.Speak(ctx, client.CreateParams{Input: "Hi."}, client.WithPollInterval(20*time.Millisecond))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(task.Status)
	// Output: COMPLETED
}

func ExampleWithMaxPollInterval() {
	srv := newFakeAPI()
	defer srv.Close()
	c, err := client.New(client.WithAPIKey("my-key"), client.WithBaseURL(srv.URL))
	if err != nil {
		log.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	id, err := c.Create(ctx, client.CreateParams{Input: "Hello."})
	if err != nil {
		log.Fatal(err)
	}
	// Never leave more than 50 ms between polls (default 5 s), for a
	// program that must react to the result at once.
	task, err := c.Wait(ctx, id, client.WithPollInterval(10*time.Millisecond), client.WithMaxPollInterval(50*time.Millisecond))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(task.Status)
	// Output: COMPLETED
}

func ExampleWithStatusCallback() {
	srv := newFakeAPI(client.StatusQueued, client.StatusQueued, client.StatusProcessing, client.StatusCompleted)
	defer srv.Close()
	c, err := client.New(client.WithAPIKey("my-key"), client.WithBaseURL(srv.URL))
	if err != nil {
		log.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	// Progress for a user: called once per status change, not per poll.
	progress := client.WithStatusCallback(func(t *client.Task) { fmt.Println("task is", t.Status) })
	if _, err := c.Speak(ctx, client.CreateParams{Input: "Hello."}, progress, client.WithPollInterval(time.Millisecond)); err != nil {
		log.Fatal(err)
	}
	// Output:
	// task is QUEUED
	// task is PROCESSING
	// task is COMPLETED
}

func ExampleTask_MarshalJSON() {
	task := client.Task{
		ID:       "0f8fad5b-d9cb-469f-a165-70867728950e",
		Status:   client.StatusCompleted,
		Model:    "Chatterbox",
		Created:  client.TimeFromUnix(1795529153.4201),
		Finished: client.TimeFromUnix(1795529155.42),
		Results:  []client.Result{{URL: "https://files.example/0f8f/0.wav?sig=abc"}},
	}
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false) // keep a result URL's & as is
	if err := enc.Encode(task); err != nil {
		log.Fatal(err)
	}
	queued, _ := json.Marshal(client.Task{ID: "1", Status: client.StatusQueued, Model: "Chatterbox"})
	fmt.Println(string(queued))
	// Output:
	// {
	//   "id": "0f8fad5b-d9cb-469f-a165-70867728950e",
	//   "status": "COMPLETED",
	//   "model": "Chatterbox",
	//   "created": "2026-11-24T14:05:53.420Z",
	//   "finished": "2026-11-24T14:05:55.420Z",
	//   "results": [
	//     {
	//       "url": "https://files.example/0f8f/0.wav?sig=abc"
	//     }
	//   ]
	// }
	// {"id":"1","status":"QUEUED","model":"Chatterbox","results":[]}
}

func ExampleAPIError() {
	srv := newFakeAPI()
	defer srv.Close()
	c, err := client.New(client.WithAPIKey("my-key"), client.WithBaseURL(srv.URL))
	if err != nil {
		log.Fatal(err)
	}

	_, err = c.Create(context.Background(), client.CreateParams{Input: "x"}) // too short
	var apiErr *client.APIError
	if errors.As(err, &apiErr) && apiErr.StatusCode == http.StatusBadRequest {
		fmt.Println("rejected:", apiErr.Message)
	}
	fmt.Println(err)
	// Output:
	// rejected: input: must be 2 to 4096 characters
	// create: input: must be 2 to 4096 characters (HTTP 400)
}

func ExampleTaskFailedError() {
	srv := newFakeAPI(client.StatusProcessing, client.StatusError)
	defer srv.Close()
	c, err := client.New(client.WithAPIKey("my-key"), client.WithBaseURL(srv.URL))
	if err != nil {
		log.Fatal(err)
	}

	_, err = c.Speak(context.Background(), client.CreateParams{Input: "Hello."}, client.WithPollInterval(time.Millisecond))
	var failed *client.TaskFailedError
	if errors.As(err, &failed) {
		// The contract has no field for the cause: the task is all there is.
		fmt.Println(failed.Task.Status, "after", failed.Task.Finished.Sub(failed.Task.Created))
	}
	fmt.Println(errors.Is(err, client.ErrTaskFailed))
	// Output:
	// ERROR after 2.377s
	// true
}

func ExampleContractError() {
	// A server that drifted: it reports a status the contract does not have.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"id":"0f8fad5b-d9cb-469f-a165-70867728950e","status":"DONE","created":1,"model":"Chatterbox","results":[]}`)
	}))
	defer srv.Close()
	c, err := client.New(client.WithAPIKey("my-key"), client.WithBaseURL(srv.URL), client.WithResponseValidation())
	if err != nil {
		log.Fatal(err)
	}

	_, err = c.Result(context.Background(), "0f8fad5b-d9cb-469f-a165-70867728950e")
	var drift *client.ContractError
	if errors.As(err, &drift) {
		// Worth an alert: the program's assumptions about the API no
		// longer hold.
		fmt.Println("contract broken by the", drift.Operation, "response, HTTP", drift.StatusCode)
	}
	// Output: contract broken by the result response, HTTP 200
}
