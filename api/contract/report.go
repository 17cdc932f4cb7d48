package contract

import (
	"bufio"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"strings"
	"time"
)

// Outcome is the verdict of one check.
type Outcome string

// The outcomes of a check. Only OutcomeFail makes a report fail.
const (
	OutcomePass Outcome = "pass"
	// OutcomeWarn passed with a caveat the user should read (e.g. a server in
	// open development mode run with ExpectOpen).
	OutcomeWarn Outcome = "warn"
	OutcomeFail Outcome = "fail"
	// OutcomeSkip did not run: its preconditions were not met (no second key,
	// SkipCreate, request budget spent, no completed task).
	OutcomeSkip Outcome = "skip"
)

// CheckResult is the result of one named check.
type CheckResult struct {
	// Name is stable across runs, e.g. "negative.result.id.pattern".
	Name string `json:"name"`
	// Category is the first segment of Name (conformance, create, lifecycle, ...).
	Category    string `json:"category"`
	Description string `json:"description"`
	// Creates marks checks that create tasks, which cost money on the live API.
	Creates  bool     `json:"creates"`
	Outcome  Outcome  `json:"outcome"`
	Messages []string `json:"messages,omitempty"`
	// Reproduce holds, for a failed check, a curl command per failing
	// request that sends it again exactly (the key as $DISTRIBUTE_API_KEY).
	Reproduce []string      `json:"reproduce,omitempty"`
	Requests  int           `json:"requests"`
	Duration  time.Duration `json:"duration_ns"`
}

// Report is the outcome of one suite run.
type Report struct {
	BaseURL  string        `json:"base_url"`
	Started  time.Time     `json:"started"`
	Duration time.Duration `json:"duration_ns"`
	// Requests is the number of HTTP requests the suite sent.
	Requests int `json:"requests"`
	// The options that shape the verdict, so a stored report says how it
	// was made.
	MaxRequests int  `json:"max_requests"`
	SkipCreate  bool `json:"skip_create"`
	ExpectOpen  bool `json:"expect_open"`
	SecondKey   bool `json:"second_key"`
	// Interrupted says why the run stopped early (its context ended: a
	// --timeout, Ctrl-C); "" for a run that went to the end. The checks not
	// reached are skipped, and an interrupted run does not pass.
	Interrupted string `json:"interrupted,omitempty"`
	// KeyRefused is the status (401 or 403) with which the server refused
	// the API key on the run's first request (notfound.result, which then
	// fails); every check that needs an accepted key is skipped. 0: the key
	// was not refused.
	KeyRefused int `json:"key_refused,omitempty"`
	// BudgetSkipped counts the checks skipped because MaxRequests ran out,
	// InterruptedSkipped those skipped because the run was interrupted.
	BudgetSkipped      int `json:"budget_skipped"`
	InterruptedSkipped int `json:"interrupted_skipped"`
	// TasksCreated counts the create calls answered 2xx: the tasks this run
	// made, each billed on the live API.
	TasksCreated int `json:"tasks_created"`
	// Seed and Examples describe the generated inputs (Options.Examples);
	// the same seed sends the same bodies. Both 0 without generated inputs.
	Seed     uint64 `json:"seed,omitempty"`
	Examples int    `json:"examples,omitempty"`
	// MaxResponseTime is Options.MaxResponseTime (0: not checked).
	MaxResponseTime time.Duration `json:"max_response_time_ns,omitempty"`
	// Replay names the HAR file a Replay report re-checked ("" for a live run).
	Replay string        `json:"replay,omitempty"`
	Checks []CheckResult `json:"checks"`
}

// Counts returns how many checks ended with each outcome.
func (r *Report) Counts() map[Outcome]int {
	c := map[Outcome]int{}
	for _, ch := range r.Checks {
		c[ch.Outcome]++
	}
	return c
}

// Passed reports whether the run went to the end and no check failed.
// Skipped checks (no second key, SkipCreate, a spent MaxRequests) do not
// make a run fail; an interrupted run does, since it did not check what it
// was asked to.
func (r *Report) Passed() bool { return r.Interrupted == "" && r.Counts()[OutcomeFail] == 0 }

// Verdict is the one word the text report's summary starts with: PASSED,
// FAILED, or INCOMPLETE for an interrupted run without a failed check.
func (r *Report) Verdict() string {
	switch {
	case r.Counts()[OutcomeFail] > 0:
		return "FAILED"
	case r.Interrupted != "":
		return "INCOMPLETE"
	}
	return "PASSED"
}

// Check returns the result of the check named name, or nil.
func (r *Report) Check(name string) *CheckResult {
	for i := range r.Checks {
		if r.Checks[i].Name == name {
			return &r.Checks[i]
		}
	}
	return nil
}

// Failed returns the names of the failed checks, in run order.
func (r *Report) Failed() []string {
	var out []string
	for _, c := range r.Checks {
		if c.Outcome == OutcomeFail {
			out = append(out, c.Name)
		}
	}
	return out
}

// WriteText renders the report for people: one line per check, messages
// indented under it, a summary line last.
func (r *Report) WriteText(w io.Writer) error {
	width := 0
	for _, c := range r.Checks {
		width = max(width, len(c.Name))
	}
	bw := bufio.NewWriter(w)
	for _, c := range r.Checks {
		mark := ""
		if c.Creates {
			mark = " [creates]"
		}
		fmt.Fprintf(bw, "%-4s  %-*s  %s%s\n", strings.ToUpper(string(c.Outcome)), width, c.Name, c.Description, mark)
		for _, m := range c.Messages {
			fmt.Fprintf(bw, "      - %s\n", m)
		}
		for _, cmd := range c.Reproduce {
			fmt.Fprintf(bw, "      reproduce: %s\n", cmd)
		}
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	n := r.Counts()
	verdict := r.Verdict()
	var notes []string
	if r.Interrupted != "" {
		if verdict == "FAILED" {
			verdict = "FAILED and INCOMPLETE"
		}
		notes = append(notes, fmt.Sprintf("INCOMPLETE: the run was interrupted (%s) before it ended: %d checks were not run; the verdict covers only the checks that ran.", r.Interrupted, r.InterruptedSkipped))
	}
	if r.KeyRefused != 0 {
		notes = append(notes, fmt.Sprintf("API KEY REFUSED: the server answered %d to the API key (APIKey / --api-key), so every check that needs an accepted key was skipped. Check the key and run again.", r.KeyRefused))
	}
	if r.BudgetSkipped > 0 {
		if verdict == "PASSED" {
			verdict = "PASSED (PARTIAL)"
		}
		notes = append(notes, fmt.Sprintf("PARTIAL: the request budget (MaxRequests / --max-requests %d) ran out: %d of %d checks were skipped untested. Raise it for a full run.", r.MaxRequests, r.BudgetSkipped, len(r.Checks)))
	}
	var b strings.Builder
	fmt.Fprintf(&b, "\n%s: %d checks against %s: %d passed, %d warnings, %d failed, %d skipped; %d requests in %s\n",
		verdict, len(r.Checks), r.BaseURL, n[OutcomePass], n[OutcomeWarn], n[OutcomeFail], n[OutcomeSkip], r.Requests, r.Duration.Round(time.Millisecond))
	for _, note := range notes {
		b.WriteString(note + "\n")
	}
	if r.Examples > 0 {
		fmt.Fprintf(&b, "GENERATED: %d examples from seed %d (run again with --seed %d for the same requests)\n", r.Examples, r.Seed, r.Seed)
	}
	if r.TasksCreated > 0 {
		fmt.Fprintf(&b, "CREATED: %d tasks (the live API bills each)\n", r.TasksCreated)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// WriteJSON renders the report as one indented JSON document.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// JUnit XML, as CI systems read it.
type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Skipped  int          `xml:"skipped,attr"`
	Time     string       `xml:"time,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name      string      `xml:"name,attr"`
	Tests     int         `xml:"tests,attr"`
	Failures  int         `xml:"failures,attr"`
	Skipped   int         `xml:"skipped,attr"`
	Time      string      `xml:"time,attr"`
	Timestamp string      `xml:"timestamp,attr"`
	Cases     []junitCase `xml:"testcase"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	Time      string        `xml:"time,attr"`
	Failure   *junitMessage `xml:"failure,omitempty"`
	Skipped   *junitMessage `xml:"skipped,omitempty"`
	SystemOut string        `xml:"system-out,omitempty"`
}

type junitMessage struct {
	Message string `xml:"message,attr"`
	Text    string `xml:",chardata"`
}

// WriteJUnit renders the report as JUnit XML: one testsuite, one testcase per
// check, classname the check's category; warnings pass with their messages in
// system-out.
func (r *Report) WriteJUnit(w io.Writer) error {
	secs := func(d time.Duration) string { return fmt.Sprintf("%.3f", d.Seconds()) }
	n := r.Counts()
	suite := junitSuite{
		Name:      "asyncspeech contract " + r.BaseURL,
		Tests:     len(r.Checks),
		Failures:  n[OutcomeFail],
		Skipped:   n[OutcomeSkip],
		Time:      secs(r.Duration),
		Timestamp: r.Started.UTC().Format(time.RFC3339),
	}
	for _, c := range r.Checks {
		jc := junitCase{Name: c.Name, Classname: "contract." + c.Category, Time: secs(c.Duration)}
		text := strings.Join(c.Messages, "\n")
		for _, cmd := range c.Reproduce {
			text += "\nreproduce: " + cmd
		}
		first := c.Description
		if len(c.Messages) > 0 {
			first = c.Messages[0]
		}
		switch c.Outcome {
		case OutcomeFail:
			jc.Failure = &junitMessage{Message: first, Text: text}
		case OutcomeSkip:
			jc.Skipped = &junitMessage{Message: first}
		default:
			jc.SystemOut = text
		}
		suite.Cases = append(suite.Cases, jc)
	}
	doc := junitSuites{Tests: suite.Tests, Failures: suite.Failures, Skipped: suite.Skipped, Time: suite.Time, Suites: []junitSuite{suite}}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return fmt.Errorf("contract: write JUnit XML: %w", err)
	}
	_, err := io.WriteString(w, "\n")
	return err
}
