// Package reftest_test runs api/client against the reference server, composed
// in-process: the HTTP API (api), the memory store, a worker pool with the
// tone engine, and the signed result files (api/results). It lives apart
// from package client's own tests so that the client's unit tests keep
// building while the server packages change.
package reftest_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/distributeai/asyncspeech/api/client"
	"github.com/distributeai/asyncspeech/api/speechtest"
)

// startReference serves the reference stack (speechd's composition through
// speechtest: memory store, tone engine, two workers) in open development
// mode until the test ends and returns its URL.
func startReference(t *testing.T) string {
	t.Helper()
	return speechtest.NewServer(t, speechtest.WithOpenMode()).URL
}

// riffDataSize parses a WAV file's RIFF header and returns the size of its
// data chunk.
func riffDataSize(t *testing.T, b []byte) int {
	t.Helper()
	if len(b) < 44 || string(b[:4]) != "RIFF" || string(b[8:12]) != "WAVE" {
		t.Fatalf("got %d bytes starting %q, want a RIFF/WAVE file", len(b), b[:min(len(b), 12)])
	}
	if size := int(binary.LittleEndian.Uint32(b[4:8])); size != len(b)-8 {
		t.Errorf("RIFF size field %d, want %d (file length - 8)", size, len(b)-8)
	}
	sawFmt := false
	for off := 12; off+8 <= len(b); {
		id, size := string(b[off:off+4]), int(binary.LittleEndian.Uint32(b[off+4:off+8]))
		if off+8+size > len(b) {
			t.Fatalf("chunk %q of %d bytes overruns the %d-byte file", id, size, len(b))
		}
		switch id {
		case "fmt ":
			sawFmt = true
			if format := binary.LittleEndian.Uint16(b[off+8:]); format != 1 {
				t.Errorf("audio format %d, want 1 (PCM)", format)
			}
		case "data":
			if !sawFmt {
				t.Error("data chunk before fmt chunk")
			}
			return size
		}
		off += 8 + size + size%2
	}
	t.Fatal("no data chunk")
	return 0
}

func TestCreateWaitDownloadAgainstReferenceServer(t *testing.T) {
	base := startReference(t)
	c, err := client.New(client.WithAPIKey("reftest-key"), client.WithBaseURL(base), client.WithResponseValidation())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	var seen []client.Status
	task, err := c.Speak(ctx, client.CreateParams{Input: "Hello from the reference server.", Voice: client.VoiceNora},
		client.WithPollInterval(10*time.Millisecond), client.WithMaxPollInterval(50*time.Millisecond),
		client.WithStatusCallback(func(t *client.Task) { seen = append(seen, t.Status) }))
	if err != nil {
		t.Fatalf("speak: %v (statuses seen %v)", err, seen)
	}
	if len(seen) == 0 || seen[len(seen)-1] != client.StatusCompleted {
		t.Errorf("statuses seen %v, want them to end with COMPLETED", seen)
	}
	order := []client.Status{client.StatusCreated, client.StatusQueued, client.StatusAssigned, client.StatusProcessing, client.StatusCompleted}
	for i := 1; i < len(seen); i++ {
		if slices.Index(order, seen[i]) <= slices.Index(order, seen[i-1]) {
			t.Errorf("statuses seen %v go backwards at %d on a task that never fails", seen, i)
		}
	}
	if task.Created.IsZero() || task.Finished.Before(task.Created) || time.Since(task.Created) > time.Minute {
		t.Errorf("created %v finished %v, want recent times with finished after created", task.Created, task.Finished)
	}
	if len(task.Results) != 1 {
		t.Fatalf("got %d results, want 1", len(task.Results))
	}

	var wav bytes.Buffer
	n, err := c.Download(ctx, task, &wav)
	if err != nil {
		t.Fatalf("download: %v", err)
	}
	if n != int64(wav.Len()) {
		t.Errorf("Download reported %d bytes, wrote %d", n, wav.Len())
	}
	if size := riffDataSize(t, wav.Bytes()); size == 0 {
		t.Error("WAV data chunk is empty")
	}

	// Another key must not see the task: the server answers 404.
	other, err := client.New(client.WithAPIKey("someone-else"), client.WithBaseURL(base), client.WithResponseValidation())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := other.Result(ctx, task.ID); !client.IsNotFound(err) {
		t.Errorf("another key reading the task: got %v, want not found", err)
	}
}

func TestReferenceServerRefusals(t *testing.T) {
	base := startReference(t)
	c, err := client.New(client.WithAPIKey("reftest-key"), client.WithBaseURL(base), client.WithResponseValidation())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err = c.Create(ctx, client.CreateParams{Input: "x"})
	var apiErr *client.APIError
	if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusBadRequest || apiErr.Attempts != 1 || apiErr.Message == "" {
		t.Errorf("create with 1-character input: got %v, want one 400 with a message", err)
	}
	if _, err := c.Result(ctx, "00000000-0000-4000-8000-000000000000"); !client.IsNotFound(err) {
		t.Errorf("unknown id: got %v, want not found", err)
	}
}
