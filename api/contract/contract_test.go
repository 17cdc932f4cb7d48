package contract_test

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/distributeai/asyncspeech/api/contract"
)

const (
	keyA = "key-a"
	keyB = "key-b"
)

// fastOptions polls quickly: the fake moves a task on with every poll.
func fastOptions() contract.Options {
	return contract.Options{APIKey: keyA, SecondKey: keyB, PollInterval: time.Millisecond, PollTimeout: 10 * time.Second}
}

func runSuite(t *testing.T, baseURL string, opts contract.Options) *contract.Report {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	rep, err := contract.Run(ctx, baseURL, opts)
	if err != nil {
		t.Fatalf("Run(%s): %v", baseURL, err)
	}
	return rep
}

func textOf(t *testing.T, rep *contract.Report) string {
	t.Helper()
	var b bytes.Buffer
	if err := rep.WriteText(&b); err != nil {
		t.Fatalf("WriteText: %v", err)
	}
	return b.String()
}

func namesWith(rep *contract.Report, o contract.Outcome) []string {
	var out []string
	for _, c := range rep.Checks {
		if c.Outcome == o {
			out = append(out, c.Name)
		}
	}
	return out
}

func TestHonestFakePassesEveryCheck(t *testing.T) {
	f := newFakeServer(t, fakeFaults{}, keyA, keyB)
	rep := runSuite(t, f.URL, fastOptions())
	t.Logf("report:\n%s", textOf(t, rep))
	for _, c := range rep.Checks {
		if c.Outcome != contract.OutcomePass {
			t.Errorf("check %s: got %s, want pass: %v", c.Name, c.Outcome, c.Messages)
		}
	}
	if !rep.Passed() {
		t.Errorf("Passed() = false, want true:\n%s", textOf(t, rep))
	}
	// The suite must have exercised each family of checks, not just a few.
	for _, want := range []string{
		"conformance.status", "conformance.content-type", "conformance.schema",
		"notfound.result", "create.minimal", "create.all-fields",
		"lifecycle.terminal", "lifecycle.order", "lifecycle.times", "lifecycle.fields", "lifecycle.results",
		"results.audio", "auth.result.no-key", "auth.result.wrong-key", "auth.create.no-key", "auth.create.wrong-key",
		"isolation.second-key",
		"negative.result.id.required", "negative.result.id.type", "negative.result.id.pattern", "negative.result.id.pattern-near-miss",
		"negative.result.body.additionalProperties", "negative.result.body.content-type", "negative.result.body.empty",
		"negative.result.body.malformed-json", "negative.result.body.type",
		"negative.create.model.required", "negative.create.input.required", "negative.create.model.enum",
		"negative.create.input.minLength", "negative.create.input.maxLength",
		"negative.create.temperature.minimum", "negative.create.temperature.maximum",
		"negative.create.exaggeration.minimum", "negative.create.cfg_weight.maximum",
		"negative.create.voice.type", "negative.create.stream.type", "negative.create.temperature.type",
		"negative.create.body.additionalProperties", "negative.create.body.oversized", "negative.result.body.oversized",
	} {
		if rep.Check(want) == nil {
			t.Errorf("check %s missing from the report", want)
		}
	}
	if got := rep.Check("negative.create.voice.enum"); got != nil {
		t.Errorf("check negative.create.voice.enum present; want none: voice's anyOf accepts any string")
	}
	requests, _ := f.counts()
	if rep.Requests != requests {
		t.Errorf("report counts %d requests, server saw %d", rep.Requests, requests)
	}
}

func TestBrokenServersAreCaught(t *testing.T) {
	tests := []struct {
		name       string
		faults     fakeFaults
		wantFailed []string
		// wantText appears in the messages of the first failed check.
		wantText string
		// opts adjusts the run (nil: fastOptions as is).
		opts func(*contract.Options)
	}{
		{
			name:       "undocumented field",
			faults:     fakeFaults{extraField: true},
			wantFailed: []string{"conformance.schema"},
			wantText:   `"debug"`,
		},
		{
			name:       "500 on a bad id",
			faults:     fakeFaults{badID500: true},
			wantFailed: []string{"negative.result.id.pattern", "negative.result.id.pattern-near-miss"},
			wantText:   "got 500",
		},
		{
			name:       "COMPLETED then QUEUED",
			faults:     fakeFaults{regress: true},
			wantFailed: []string{"lifecycle.order"},
			wantText:   "QUEUED after COMPLETED",
		},
		{
			name:       "open mode without --expect-open",
			faults:     fakeFaults{openMode: true},
			wantFailed: []string{"auth.result.wrong-key", "auth.create.wrong-key"},
			wantText:   "open development mode",
		},
		{
			name:       "served without a key",
			faults:     fakeFaults{noKeyOK: true},
			wantFailed: []string{"auth.result.no-key", "auth.create.no-key"},
			wantText:   "want 401",
		},
		{
			name:       "tasks readable across keys",
			faults:     fakeFaults{leaky: true},
			wantFailed: []string{"isolation.second-key"},
			wantText:   "served to the second key",
		},
		{
			name:       "undeclared property accepted",
			faults:     fakeFaults{lax: true},
			wantFailed: []string{"negative.create.body.additionalProperties"},
			wantText:   "accepted input the spec forbids",
		},
		{
			name:       "never finishes",
			faults:     fakeFaults{stuck: true},
			wantFailed: []string{"lifecycle.terminal"},
			wantText:   "still QUEUED after",
			opts:       func(o *contract.Options) { o.PollTimeout = 50 * time.Millisecond },
		},
		{
			name:       "finished while PROCESSING",
			faults:     fakeFaults{finishedEarly: true},
			wantFailed: []string{"lifecycle.times"},
			wantText:   "set on non-terminal status PROCESSING",
		},
		{
			name:       "COMPLETED without results",
			faults:     fakeFaults{noResults: true},
			wantFailed: []string{"lifecycle.results"},
			wantText:   "COMPLETED with no results",
		},
		{
			name:       "COMPLETED task's results move",
			faults:     fakeFaults{movedResults: true},
			wantFailed: []string{"lifecycle.results"},
			wantText:   "results changed after COMPLETED",
		},
		{
			name:       "renewed link serves another file",
			faults:     fakeFaults{swappedBehindQuery: true},
			wantFailed: []string{"results.audio"},
			wantText:   "renewed link serves other bytes",
		},
		{
			name:       "result URL serves HTML",
			faults:     fakeFaults{htmlAudio: true},
			wantFailed: []string{"results.audio"},
			wantText:   "not audio",
		},
		{
			name:       "answers with another id",
			faults:     fakeFaults{wrongEcho: true},
			wantFailed: []string{"lifecycle.fields"},
			wantText:   "answer carries id",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeServer(t, tt.faults, keyA, keyB)
			opts := fastOptions()
			if tt.opts != nil {
				tt.opts(&opts)
			}
			rep := runSuite(t, f.URL, opts)
			got := rep.Failed()
			for _, name := range got {
				t.Logf("%s: %v", name, rep.Check(name).Messages)
			}
			if !slices.Equal(got, tt.wantFailed) {
				t.Fatalf("failed checks: got %v, want %v\n%s", got, tt.wantFailed, textOf(t, rep))
			}
			if rep.Passed() {
				t.Errorf("Passed() = true, want false")
			}
			msgs := strings.Join(rep.Check(tt.wantFailed[0]).Messages, "\n")
			if !strings.Contains(msgs, tt.wantText) {
				t.Errorf("messages of %s: got %q, want them to mention %q", tt.wantFailed[0], msgs, tt.wantText)
			}
			// Every failed check says how to send its request again.
			for _, name := range got {
				c := rep.Check(name)
				if len(c.Reproduce) == 0 || !strings.HasPrefix(c.Reproduce[0], "curl -sS -X ") && !strings.HasPrefix(c.Reproduce[0], "{ printf") {
					t.Errorf("failed check %s has no curl reproduction: %q", name, c.Reproduce)
				}
				for _, r := range c.Reproduce {
					if strings.Contains(r, "'"+keyA+"'") || strings.Contains(r, ": "+keyA) {
						t.Errorf("reproduction of %s holds the key: %s", name, r)
					}
				}
			}
		})
	}
}

func TestExpectOpenDowngradesToWarnings(t *testing.T) {
	f := newFakeServer(t, fakeFaults{openMode: true})
	opts := fastOptions()
	opts.SecondKey = "" // in open mode the suite makes up its own second key
	opts.ExpectOpen = true
	rep := runSuite(t, f.URL, opts)
	if !rep.Passed() {
		t.Fatalf("Passed() = false, want true with ExpectOpen:\n%s", textOf(t, rep))
	}
	if got, want := namesWith(rep, contract.OutcomeWarn), []string{"auth.result.wrong-key", "auth.create.wrong-key"}; !slices.Equal(got, want) {
		t.Errorf("warned checks: got %v, want %v", got, want)
	}
	if got := rep.Check("isolation.second-key").Outcome; got != contract.OutcomePass {
		t.Errorf("isolation.second-key: got %s, want pass with a made-up second key", got)
	}
	// The flag was given: the message must not tell the user to give it.
	for _, name := range namesWith(rep, contract.OutcomeWarn) {
		msgs := strings.Join(rep.Check(name).Messages, "\n")
		if strings.Contains(msgs, "run with") || !strings.Contains(msgs, "as ExpectOpen (--expect-open) says it should") {
			t.Errorf("%s: got %q, want it to say the open mode is expected, not to ask for --expect-open", name, msgs)
		}
	}
}

func TestOpenModeWithoutExpectOpenSuggestsTheFlag(t *testing.T) {
	f := newFakeServer(t, fakeFaults{openMode: true})
	rep := runSuite(t, f.URL, fastOptions())
	for _, name := range []string{"auth.result.wrong-key", "auth.create.wrong-key"} {
		c := rep.Check(name)
		msgs := strings.Join(c.Messages, "\n")
		if c.Outcome != contract.OutcomeFail || !strings.Contains(msgs, "run with ExpectOpen (--expect-open)") || strings.Contains(msgs, "expected:") {
			t.Errorf("%s: got %s %q, want fail suggesting --expect-open", name, c.Outcome, msgs)
		}
	}
}

// TestRefusedKeyIsNotAPass: with a key the server refuses, every answer is a
// 401; the negative checks must not count that as their 4xx.
func TestRefusedKeyIsNotAPass(t *testing.T) {
	f := newFakeServer(t, fakeFaults{}, keyA, keyB)
	opts := fastOptions()
	opts.APIKey = "wrong"
	rep := runSuite(t, f.URL, opts)
	text := textOf(t, rep)
	if rep.Passed() {
		t.Fatalf("Passed() = true with a refused key, want false:\n%s", text)
	}
	if got, want := rep.Failed(), []string{"notfound.result"}; !slices.Equal(got, want) {
		t.Errorf("failed checks: got %v, want %v", got, want)
	}
	if rep.KeyRefused != http.StatusUnauthorized {
		t.Errorf("KeyRefused: got %d, want 401", rep.KeyRefused)
	}
	if msgs := strings.Join(rep.Check("notfound.result").Messages, " "); !strings.Contains(msgs, "API key refused (401)") {
		t.Errorf("notfound.result: got %q, want it to say the key was refused", msgs)
	}
	var skipped int
	for _, c := range rep.Checks {
		switch {
		case c.Category == "conformance" || c.Name == "notfound.result":
		case strings.HasPrefix(c.Name, "auth."):
			// They send no key or a made-up one: a refused main key changes
			// nothing for them.
			if c.Outcome != contract.OutcomePass {
				t.Errorf("%s: got %s, want pass", c.Name, c.Outcome)
			}
		default:
			skipped++
			if c.Outcome != contract.OutcomeSkip || c.Requests != 0 || !strings.Contains(strings.Join(c.Messages, " "), "API key refused (401)") {
				t.Errorf("%s: got %s with %d requests %v, want skip with 0 saying \"API key refused (401)\"", c.Name, c.Outcome, c.Requests, c.Messages)
			}
		}
	}
	if skipped < 30 {
		t.Errorf("only %d key-dependent checks seen, want the negative, create, lifecycle and isolation checks", skipped)
	}
	for _, want := range []string{"FAILED: ", "API KEY REFUSED: the server answered 401"} {
		if !strings.Contains(text, want) {
			t.Errorf("text report lacks %q:\n%s", want, text)
		}
	}
}

// TestInterruptedRunIsIncomplete: a run whose context ends midway does not
// pass, and its summary says INCOMPLETE, not PASSED.
func TestInterruptedRunIsIncomplete(t *testing.T) {
	f := newFakeServer(t, fakeFaults{}, keyA, keyB)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var seen atomic.Int32
	// Cancel the run from the server side after a few answers.
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if seen.Add(1) == 4 {
			cancel()
		}
		proxyTo(t, f.URL, w, r)
	}))
	defer front.Close()
	rep, err := contract.Run(ctx, front.URL, fastOptions())
	if err == nil {
		t.Fatalf("Run interrupted midway: got nil error, want one")
	}
	if rep == nil {
		t.Fatalf("Run interrupted midway: got no partial report")
	}
	text := textOf(t, rep)
	if rep.Passed() {
		t.Errorf("Passed() = true for an interrupted run, want false")
	}
	if got := rep.Failed(); len(got) > 0 {
		t.Errorf("interrupted run failed checks %v; want them skipped", got)
	}
	if rep.Interrupted == "" || rep.InterruptedSkipped == 0 {
		t.Errorf("Interrupted %q, InterruptedSkipped %d: want the reason and a count", rep.Interrupted, rep.InterruptedSkipped)
	}
	if !strings.Contains(text, "\nINCOMPLETE: ") || strings.Contains(text, "PASSED") {
		t.Errorf("summary: want INCOMPLETE and no PASSED:\n%s", text)
	}
	if n := rep.Counts()[contract.OutcomePass]; n == 0 {
		t.Errorf("no check passed before the interruption; the test cancels too early")
	}
}

// proxyTo forwards one request to base and copies the answer back.
func proxyTo(t *testing.T, base string, w http.ResponseWriter, r *http.Request) {
	t.Helper()
	req, err := http.NewRequest(r.Method, base+r.URL.Path, r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	req.Header = r.Header.Clone()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	defer resp.Body.Close()
	for k, v := range resp.Header {
		w.Header()[k] = v
	}
	w.WriteHeader(resp.StatusCode)
	_, _ = io.Copy(w, resp.Body)
}

func TestSkipCreateSendsNoCreate(t *testing.T) {
	f := newFakeServer(t, fakeFaults{}, keyA, keyB)
	opts := fastOptions()
	opts.SkipCreate = true
	rep := runSuite(t, f.URL, opts)
	if _, creates := f.counts(); creates != 0 {
		t.Errorf("server saw %d creates, want 0 with SkipCreate", creates)
	}
	// Nothing may even be sent to create: a broken server could accept it.
	for _, c := range rep.Checks {
		if c.Creates && (c.Outcome != contract.OutcomeSkip || c.Requests != 0) {
			t.Errorf("check %s (creates): got %s with %d requests, want skip with 0", c.Name, c.Outcome, c.Requests)
		}
	}
	if !rep.Passed() {
		t.Errorf("Passed() = false, want true:\n%s", textOf(t, rep))
	}
	if got := rep.Check("negative.result.id.pattern").Outcome; got != contract.OutcomePass {
		t.Errorf("negative.result.id.pattern: got %s, want pass (result checks still run)", got)
	}
}

func TestMaxRequestsBoundsTheRun(t *testing.T) {
	for _, max := range []int{1, 5, 12} {
		t.Run(fmt.Sprintf("max=%d", max), func(t *testing.T) {
			f := newFakeServer(t, fakeFaults{}, keyA, keyB)
			opts := fastOptions()
			opts.MaxRequests = max
			rep := runSuite(t, f.URL, opts)
			if requests, _ := f.counts(); requests > max {
				t.Errorf("server saw %d requests, want <= %d", requests, max)
			}
			if rep.Requests > max {
				t.Errorf("report says %d requests, want <= %d", rep.Requests, max)
			}
			skipped := namesWith(rep, contract.OutcomeSkip)
			if len(skipped) == 0 {
				t.Errorf("no check skipped with MaxRequests %d; want the rest skipped", max)
			}
			if !strings.Contains(strings.Join(rep.Check(skipped[len(skipped)-1]).Messages, " "), "budget") {
				t.Errorf("last skipped check %s does not name the budget: %v", skipped[len(skipped)-1], rep.Check(skipped[len(skipped)-1]).Messages)
			}
			if !rep.Passed() {
				t.Errorf("Passed() = false, want true (a spent budget is not a violation):\n%s", textOf(t, rep))
			}
			var budget int
			for _, name := range skipped {
				if strings.Contains(strings.Join(rep.Check(name).Messages, " "), "request budget spent") {
					budget++
				}
			}
			if rep.BudgetSkipped != budget {
				t.Errorf("BudgetSkipped: got %d, want %d", rep.BudgetSkipped, budget)
			}
			// A run that stopped for budget must not read as a plain pass.
			text := textOf(t, rep)
			wantNote := fmt.Sprintf("PARTIAL: the request budget (MaxRequests / --max-requests %d) ran out: %d of %d checks were skipped untested", max, budget, len(rep.Checks))
			for _, want := range []string{"\nPASSED (PARTIAL): ", wantNote} {
				if !strings.Contains(text, want) {
					t.Errorf("text report lacks %q:\n%s", want, text)
				}
			}
		})
	}
}

func TestUnreachableServerFails(t *testing.T) {
	srv := httptest.NewServer(nil)
	url := srv.URL
	srv.Close()
	rep := runSuite(t, url, fastOptions())
	if rep.Passed() {
		t.Fatalf("Passed() = true against a closed port, want false")
	}
	c := rep.Check("notfound.result")
	if c.Outcome != contract.OutcomeFail || !strings.Contains(strings.Join(c.Messages, " "), "request failed") {
		t.Errorf("notfound.result: got %s %v, want fail naming the request failure", c.Outcome, c.Messages)
	}
	if got := rep.Check("conformance.schema").Outcome; got != contract.OutcomeSkip {
		t.Errorf("conformance.schema with no response: got %s, want skip", got)
	}
}

func TestRunRejectsBadOptions(t *testing.T) {
	tests := []struct {
		name, base string
		opts       contract.Options
	}{
		{"no key", "http://127.0.0.1:1", contract.Options{}},
		{"no scheme", "127.0.0.1:8080", contract.Options{APIKey: "k"}},
		{"ftp", "ftp://example.com", contract.Options{APIKey: "k"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := contract.Run(context.Background(), tt.base, tt.opts); err == nil {
				t.Errorf("Run(%q): got nil error, want one", tt.base)
			}
		})
	}
}

func TestReportRenderings(t *testing.T) {
	f := newFakeServer(t, fakeFaults{badID500: true}, keyA, keyB)
	opts := fastOptions()
	opts.SecondKey = ""
	rep := runSuite(t, f.URL, opts)

	t.Run("text", func(t *testing.T) {
		text := textOf(t, rep)
		for _, want := range []string{"FAIL  negative.result.id.pattern", "SKIP  isolation.second-key", "FAILED: "} {
			if !strings.Contains(text, want) {
				t.Errorf("text report lacks %q:\n%s", want, text)
			}
		}
	})
	t.Run("json", func(t *testing.T) {
		var b bytes.Buffer
		if err := rep.WriteJSON(&b); err != nil {
			t.Fatalf("WriteJSON: %v", err)
		}
		var back contract.Report
		if err := json.Unmarshal(b.Bytes(), &back); err != nil {
			t.Fatalf("JSON report does not decode: %v", err)
		}
		if len(back.Checks) != len(rep.Checks) || back.Passed() {
			t.Errorf("decoded JSON: got %d checks passed=%v, want %d checks passed=false", len(back.Checks), back.Passed(), len(rep.Checks))
		}
		if back.MaxRequests != 400 || back.SecondKey || back.SkipCreate {
			t.Errorf("decoded JSON options: max_requests=%d second_key=%v skip_create=%v, want 400, false, false", back.MaxRequests, back.SecondKey, back.SkipCreate)
		}
	})
	t.Run("junit", func(t *testing.T) {
		var b bytes.Buffer
		if err := rep.WriteJUnit(&b); err != nil {
			t.Fatalf("WriteJUnit: %v", err)
		}
		var doc struct {
			Tests    int `xml:"tests,attr"`
			Failures int `xml:"failures,attr"`
			Suites   []struct {
				Cases []struct {
					Name    string `xml:"name,attr"`
					Failure *struct {
						Message string `xml:"message,attr"`
					} `xml:"failure"`
					Skipped *struct{} `xml:"skipped"`
				} `xml:"testcase"`
			} `xml:"testsuite"`
		}
		if err := xml.Unmarshal(b.Bytes(), &doc); err != nil {
			t.Fatalf("JUnit XML does not parse: %v\n%s", err, b.String())
		}
		n := rep.Counts()
		if doc.Tests != len(rep.Checks) || doc.Failures != n[contract.OutcomeFail] {
			t.Errorf("JUnit totals: got tests=%d failures=%d, want %d and %d", doc.Tests, doc.Failures, len(rep.Checks), n[contract.OutcomeFail])
		}
		var failed []string
		for _, c := range doc.Suites[0].Cases {
			if c.Failure != nil {
				failed = append(failed, c.Name)
				if c.Failure.Message == "" {
					t.Errorf("testcase %s: failure without a message", c.Name)
				}
			}
		}
		if !slices.Equal(failed, rep.Failed()) {
			t.Errorf("JUnit failed cases: got %v, want %v", failed, rep.Failed())
		}
	})
}

func TestCancelledRunReturnsPartialReport(t *testing.T) {
	f := newFakeServer(t, fakeFaults{}, keyA, keyB)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	rep, err := contract.Run(ctx, f.URL, fastOptions())
	if err == nil {
		t.Fatalf("Run with a cancelled context: got nil error, want one")
	}
	if rep == nil || len(rep.Checks) == 0 {
		t.Fatalf("Run with a cancelled context: got no partial report")
	}
	if got := rep.Failed(); len(got) > 0 {
		t.Errorf("cancelled run failed checks %v; want them skipped", got)
	}
	if rep.Passed() || rep.Verdict() != "INCOMPLETE" {
		t.Errorf("cancelled run: Passed() %v, Verdict() %q; want false, INCOMPLETE", rep.Passed(), rep.Verdict())
	}
}

// Servers that answer nonsense must get a verdict, never crash the suite.
func TestNonsenseServersAreJudged(t *testing.T) {
	tests := []struct {
		name       string
		handler    http.HandlerFunc
		wantFailed []string
	}{
		{
			name: "HTML for everything",
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "text/html")
				_, _ = io.WriteString(w, "<html>hi</html>")
			},
			wantFailed: []string{"conformance.content-type", "create.minimal", "negative.result.id.pattern"},
		},
		{
			name: "wrong JSON types",
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				if strings.HasSuffix(r.URL.Path, "/create") {
					_, _ = io.WriteString(w, `{"id":5}`)
					return
				}
				_, _ = io.WriteString(w, `{"id":[],"status":7,"created":"yesterday","model":null,"results":"none","finished":{}}`)
			},
			wantFailed: []string{"conformance.schema", "create.minimal", "notfound.result"},
		},
		{
			name: "a task id that is not a UUIDv4 and an undocumented status",
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				if strings.HasSuffix(r.URL.Path, "/create") {
					_, _ = io.WriteString(w, `{"id":"task-1"}`)
					return
				}
				w.WriteHeader(http.StatusTeapot)
				_, _ = io.WriteString(w, `{"message":"short and stout"}`)
			},
			wantFailed: []string{"conformance.status", "create.minimal", "notfound.result"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(tt.handler)
			defer srv.Close()
			rep := runSuite(t, srv.URL, fastOptions())
			failed := rep.Failed()
			for _, want := range tt.wantFailed {
				if !slices.Contains(failed, want) {
					t.Errorf("check %s did not fail; failed: %v", want, failed)
				}
			}
			if got := rep.Check("lifecycle.order").Outcome; got != contract.OutcomeSkip {
				t.Errorf("lifecycle.order without a usable task: got %s, want skip", got)
			}
		})
	}
}

// TestRenewedLinksKeepTheirFiles: a server that renews each link's
// signature and expiry on every poll still keeps its results (the same
// files), so lifecycle.results must pass; speechd renews its links when an
// expiry bucket ends, which a run may straddle.
func TestRenewedLinksKeepTheirFiles(t *testing.T) {
	f := newFakeServer(t, fakeFaults{renewedLinks: true}, keyA, keyB)
	rep := runSuite(t, f.URL, fastOptions())
	for _, name := range []string{"lifecycle.results", "results.audio"} {
		if c := rep.Check(name); c == nil || c.Outcome != contract.OutcomePass {
			t.Errorf("check %s: got %v, want pass\n%s", name, c, textOf(t, rep))
		}
	}
	if !rep.Passed() {
		t.Errorf("Passed() = false, want true:\n%s", textOf(t, rep))
	}
}
