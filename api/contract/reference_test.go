package contract_test

import (
	"context"
	"log/slog"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/distributeai/asyncspeech/api/contract"
	"github.com/distributeai/asyncspeech/api/daemon"
	"github.com/distributeai/asyncspeech/api/proxy"
	"github.com/distributeai/asyncspeech/api/speechtest"
	"github.com/distributeai/asyncspeech/internal/logtest"
)

// TestReferenceServerPassesEveryCheck is what CI shows: the reference server
// (api, worker, results, tone engine, in-process) keeps the contract.
func TestReferenceServerPassesEveryCheck(t *testing.T) {
	for _, tt := range []struct {
		name string
		opts []speechtest.Option
	}{
		{"memory", nil},
		{"sqlite", []speechtest.Option{speechtest.WithSQLite()}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			srv := speechtest.NewServer(t, append(tt.opts, speechtest.WithKeys(keyA, keyB))...)
			// Hold the two created tasks back for a few polls (one after a
			// transient engine failure), so the lifecycle checks judge real
			// sequences, not a task already COMPLETED at its first poll.
			srv.NextTakesPolls(3)
			srv.Next(speechtest.Script{Postpone: 1, Polls: 4})
			rep := runSuite(t, srv.URL, fastOptions())
			for _, c := range rep.Checks {
				if c.Outcome != contract.OutcomePass {
					t.Errorf("check %s: got %s, want pass: %v", c.Name, c.Outcome, c.Messages)
				}
			}
			for _, m := range rep.Check("lifecycle.terminal").Messages {
				if !strings.Contains(m, "→") {
					t.Errorf("lifecycle.terminal: %q shows one status, want a sequence", m)
				}
			}
			if t.Failed() || testing.Verbose() {
				t.Logf("report:\n%s", textOf(t, rep))
			}
		})
	}
}

// A task that ends in ERROR is legal: the lifecycle checks accept it (with a
// warning, since its request was valid) and the audio check uses the other.
func TestReferenceServerTaskInError(t *testing.T) {
	srv := speechtest.NewServer(t, speechtest.WithKeys(keyA, keyB))
	srv.Next(speechtest.Script{Fail: true, Polls: 2})
	rep := runSuite(t, srv.URL, fastOptions())
	if !rep.Passed() {
		t.Fatalf("failed %v, want none\n%s", rep.Failed(), textOf(t, rep))
	}
	if got, want := namesWith(rep, contract.OutcomeWarn), []string{"lifecycle.terminal"}; !slices.Equal(got, want) {
		t.Errorf("warned checks: got %v, want %v", got, want)
	}
	if msgs := strings.Join(rep.Check("lifecycle.terminal").Messages, "\n"); !strings.Contains(msgs, "ended in ERROR") {
		t.Errorf("lifecycle.terminal messages %q do not report the ERROR", msgs)
	}
	if c := rep.Check("results.audio"); c.Outcome != contract.OutcomePass || !strings.Contains(strings.Join(c.Messages, " "), "downloaded: 1") {
		t.Errorf("results.audio: got %s %v, want pass on the one completed task", c.Outcome, c.Messages)
	}
}

// TestSpeechdPassesEveryCheck runs the suite against speechd as it ships
// (api/daemon: the same composition cmd/speechd runs), on SQLite, with the
// tone engine and with whatever --engine auto picks on this machine.
func TestSpeechdPassesEveryCheck(t *testing.T) {
	for _, eng := range []string{"tone", "auto"} {
		t.Run(eng, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			d, err := daemon.New(ctx, daemon.Config{
				Addr: "127.0.0.1:0", Store: "sqlite", Data: t.TempDir(), Engine: eng,
				Keys: []string{keyA, keyB}, Workers: 2, StrictResponses: true,
			}, slog.New(slog.DiscardHandler))
			if err != nil {
				cancel()
				t.Fatalf("daemon.New: %v", err)
			}
			done := make(chan error, 1)
			go func() { done <- d.Run(ctx) }()
			defer func() {
				cancel()
				if err := <-done; err != nil {
					t.Errorf("daemon.Run: %v", err)
				}
			}()
			opts := fastOptions()
			opts.PollInterval = 20 * time.Millisecond
			opts.PollTimeout = 30 * time.Second
			rep := runSuite(t, d.URL(), opts)
			for _, c := range rep.Checks {
				if c.Outcome != contract.OutcomePass {
					t.Errorf("check %s: got %s, want pass: %v", c.Name, c.Outcome, c.Messages)
				}
			}
			if t.Failed() {
				t.Logf("engine %s; report:\n%s", d.EngineName(), textOf(t, rep))
			}
		})
	}
}

func TestReferenceServerInOpenMode(t *testing.T) {
	srv := speechtest.NewServer(t, speechtest.WithOpenMode())
	opts := fastOptions()
	opts.APIKey, opts.SecondKey = srv.Key, ""

	strict := runSuite(t, srv.URL, opts)
	if got, want := strict.Failed(), []string{"auth.result.wrong-key", "auth.create.wrong-key"}; !slices.Equal(got, want) {
		t.Errorf("open mode without ExpectOpen: failed %v, want %v", got, want)
	}

	opts.ExpectOpen = true
	open := runSuite(t, srv.URL, opts)
	if !open.Passed() {
		t.Errorf("open mode with ExpectOpen: failed %v, want none\n%s", open.Failed(), textOf(t, open))
	}
	if got := open.Check("isolation.second-key").Outcome; got != contract.OutcomePass {
		t.Errorf("isolation.second-key in open mode: got %s, want pass (any key owns its own tasks)", got)
	}
}

// The suite through the strict proxy in front of the reference server: the
// proxy must not get in the way (every check passes) and must see nothing
// wrong with the server's answers, while it logs the suite's deliberately
// invalid requests.
func TestSuiteThroughStrictProxy(t *testing.T) {
	srv := speechtest.NewServer(t, speechtest.WithKeys(keyA, keyB))
	up, _ := url.Parse(srv.URL)
	var logs logtest.Buffer
	h, err := proxy.New(context.Background(), up, proxy.Options{Strict: true, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatalf("proxy.New: %v", err)
	}
	p := httptest.NewServer(h)
	defer p.Close()

	opts := fastOptions()
	opts.PollTimeout = 20 * time.Second
	rep := runSuite(t, p.URL, opts)
	if !rep.Passed() {
		t.Errorf("through the strict proxy: failed %v\n%s", rep.Failed(), textOf(t, rep))
	}
	out := logs.String()
	if strings.Contains(out, "response violates") {
		t.Errorf("proxy logged a response violation of the reference server:\n%s", out)
	}
	if !strings.Contains(out, "invalid request") || !strings.Contains(out, "request_id=") {
		t.Errorf("proxy did not log the suite's invalid requests with request ids:\n%s", out)
	}
}
