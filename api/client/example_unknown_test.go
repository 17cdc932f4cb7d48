package client_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/distributeai/asyncspeech/api/client"
)

// A server on a newer contract than this module's: a status the client
// does not know on the way, and a field it does not model. Wait polls on
// through the status; the field is in Task.Extra.
func ExampleKnownStatus() {
	srv := newFakeAPI(client.StatusQueued, "PAUSED", client.StatusCompleted)
	defer srv.Close()
	srv.extra = map[string]any{"duration": 1.25}
	c, err := client.New(client.WithAPIKey("my-key"), client.WithBaseURL(srv.URL))
	if err != nil {
		log.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	task, err := c.Speak(ctx, client.CreateParams{Input: "Hello, world."},
		client.WithPollInterval(time.Millisecond),
		client.WithStatusCallback(func(t *client.Task) {
			if !client.KnownStatus(t.Status) {
				fmt.Println("unknown status", t.Status, "- still waiting")
			}
		}))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(task.Status, "duration", string(task.Extra["duration"]))
	// Output:
	// unknown status PAUSED - still waiting
	// COMPLETED duration 1.25
}
