package client_test

import (
	"bufio"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/distributeai/asyncspeech/api/client"
	"github.com/distributeai/asyncspeech/api/speechtest"
)

// docErrors returns the example error lines of docs/client.md (the code
// block after "Each error says once what failed").
func docErrors(t *testing.T) []string {
	t.Helper()
	f, err := os.Open("../../docs/client.md")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var lines []string
	found, in := false, false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "Each error says once what failed"):
			found = true
		case found && !in && line == "```":
			in = true
		case in && line == "```":
			return lines
		case in:
			lines = append(lines, line)
		}
	}
	t.Fatal("docs/client.md: no error example block after \"Each error says once what failed\"")
	return nil
}

// TestDocumentedErrorsAreWhatTheClientSays produces every error line that
// docs/client.md quotes, from the real client against the real reference
// server where the message is the server's, and requires the same text (the
// task id aside): a quoted message cannot go stale.
func TestDocumentedErrorsAreWhatTheClientSays(t *testing.T) {
	lines := docErrors(t)
	uuidRE := regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}`)
	const docID = "0f8fad5b-d9cb-469f-a165-70867728950e"
	ref := speechtest.NewServer(t)
	refClient, err := client.New(client.WithBaseURL(ref.URL), client.WithAPIKey(ref.Key))
	if err != nil {
		t.Fatal(err)
	}
	fake := func(h http.HandlerFunc) *client.Client {
		srv := httptest.NewServer(h)
		t.Cleanup(srv.Close)
		c, err := client.New(client.WithBaseURL(srv.URL), client.WithAPIKey("k"))
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	ctx := context.Background()
	produce := map[string]func() error{
		"result: task": func() error {
			_, err := refClient.Result(ctx, docID)
			return err
		},
		"result of task … overloaded": func() error {
			c := fake(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				w.Header().Set("Retry-After", "0")
				w.WriteHeader(http.StatusServiceUnavailable)
				_, _ = w.Write([]byte(`{"message":"overloaded"}`))
			})
			_, err := c.Result(ctx, docID)
			return err
		},
		"create: input": func() error {
			_, err := refClient.Create(ctx, client.CreateParams{Input: "a"})
			return err
		},
		"create: Bad Gateway": func() error {
			c := fake(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusBadGateway) })
			_, err := c.Create(ctx, client.CreateParams{Input: "hello"})
			return err
		},
		"result of task … context deadline exceeded": func() error {
			c := fake(func(w http.ResponseWriter, r *http.Request) {
				select { // until the client gives up, or the test ends its server
				case <-r.Context().Done():
				case <-time.After(2 * time.Second):
				}
			})
			tctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
			defer cancel()
			_, err := c.Result(tctx, docID)
			return err
		},
		"download": func() error {
			task, err := refClient.Speak(ctx, client.CreateParams{Input: "hello there"})
			if err != nil {
				return err
			}
			u, _ := url.Parse(task.Results[0].URL)
			q := u.Query()
			q.Set("sig", strings.Repeat("0", len(q.Get("sig"))))
			u.RawQuery = q.Encode()
			task.Results[0].URL = u.String()
			_, err = refClient.Download(ctx, task, new(strings.Builder))
			return err
		},
	}
	kind := func(line string) string {
		switch {
		case strings.HasPrefix(line, "result: task"):
			return "result: task"
		case strings.HasPrefix(line, "result of task") && strings.Contains(line, "overloaded"):
			return "result of task … overloaded"
		case strings.HasPrefix(line, "result of task") && strings.HasSuffix(line, "context deadline exceeded"):
			return "result of task … context deadline exceeded"
		case strings.HasPrefix(line, "create: Bad Gateway"):
			return "create: Bad Gateway"
		case strings.HasPrefix(line, "create: input"):
			return "create: input"
		case strings.Contains(line, "download"):
			return "download"
		}
		return ""
	}
	seen := map[string]bool{}
	for _, line := range lines {
		k := kind(line)
		t.Run(line, func(t *testing.T) {
			f := produce[k]
			if f == nil {
				t.Fatalf("no way to produce %q: add one to this test", line)
			}
			seen[k] = true
			err := f()
			if err == nil {
				t.Fatal("got no error")
			}
			got := uuidRE.ReplaceAllString(err.Error(), docID)
			if got != line {
				t.Errorf("the client says\n\t%s\nthe docs say\n\t%s", got, line)
			}
			if k == "result of task … context deadline exceeded" && !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("%v: want it to wrap context.DeadlineExceeded", err)
			}
		})
	}
	for k := range produce {
		if !seen[k] {
			t.Errorf("docs/client.md no longer quotes a %q error", k)
		}
	}
}
