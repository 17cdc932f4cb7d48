package contract

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/distributeai/asyncspeech/api/har"
)

// redactedValue is what a recording holds in place of a key; a
// reproduction of a recorded request names $DISTRIBUTE_API_KEY instead.
const redactedValue = har.Redacted

// ReplayOptions configure Replay.
type ReplayOptions struct {
	// Name names the recording in the report (e.g. its file name).
	Name string
	// MaxResponseTime, when positive, adds conformance.response-time judged
	// on each entry's recorded time.
	MaxResponseTime time.Duration
}

// Replay re-checks a HAR recording (speech proxy --har, or any HAR 1.2 of
// the API's traffic) against the spec, offline: every entry for one of the
// spec's operations is judged by the conformance checks of a live run
// (status, content type, body schema; response time with MaxResponseTime).
// Each failure names the entry (1-based, in file order) and carries a curl
// reproduction of its request. Entries for other paths (audio downloads)
// are skipped and counted. The error is non-nil when the recording holds no
// exchange of the spec's operations, or the spec cannot be loaded.
func Replay(ctx context.Context, f *har.File, opts ReplayOptions) (*Report, error) {
	spec, err := loadSpec(ctx)
	if err != nil {
		return nil, err
	}
	name := opts.Name
	if name == "" {
		name = "recording"
	}
	rep := &Report{BaseURL: "HAR " + name, Started: time.Now(), Replay: name, MaxResponseTime: opts.MaxResponseTime}
	checks := []struct {
		kind, name, desc string
		res              CheckResult
	}{
		{violationStatus, "conformance.status", "every recorded response has a status the spec documents, or a documented extension", CheckResult{}},
		{violationContentType, "conformance.content-type", "every recorded response is application/json", CheckResult{}},
		{violationSchema, "conformance.schema", "every recorded response body validates against the spec's schema for its status", CheckResult{}},
	}
	byKind := map[string]*CheckResult{}
	for i := range checks {
		checks[i].res = CheckResult{Name: checks[i].name, Category: "conformance", Description: checks[i].desc, Outcome: OutcomePass}
		byKind[checks[i].kind] = &checks[i].res
	}
	timing := CheckResult{Name: "conformance.response-time", Category: "conformance", Outcome: OutcomePass,
		Description: fmt.Sprintf("every recorded answer arrived within %s (MaxResponseTime / --max-response-time)", opts.MaxResponseTime)}
	checked, skipped := 0, 0
	var slowest time.Duration
	for i := range f.Log.Entries {
		e := &f.Log.Entries[i]
		op, req, err := replayRequest(spec, e)
		if err != nil {
			return nil, fmt.Errorf("contract: replay %s: entry #%d: %w", name, i+1, err)
		}
		if op == nil {
			skipped++
			continue
		}
		checked++
		where := fmt.Sprintf("entry #%d (%s %s, started %s", i+1, e.Request.Method, e.Request.URL, e.StartedDateTime)
		if e.RequestID != "" {
			where += ", request id " + e.RequestID
		}
		where += ")"
		curl := curlCommand(e.Request.Method, e.Request.URL, har.Headers(e.Request.Headers), e.RequestBody(), nil)
		body, err := e.ResponseBody()
		if err != nil {
			c := byKind[violationSchema]
			c.Outcome = OutcomeFail
			c.Messages = append(c.Messages, fmt.Sprintf("%s: %v", where, err))
			continue
		}
		for _, v := range spec.validateResponse(ctx, op, req, e.Response.Status, har.Headers(e.Response.Headers), body) {
			c := byKind[v.kind]
			c.Outcome = OutcomeFail
			if len(c.Messages) < maxMessages {
				c.Messages = append(c.Messages, fmt.Sprintf("%s: %s %s: %s", where, op.method, op.path, v.message))
				if !containsString(c.Reproduce, curl) {
					c.Reproduce = append(c.Reproduce, curl)
				}
			}
		}
		d := time.Duration(e.Time * float64(time.Millisecond))
		slowest = max(slowest, d)
		if opts.MaxResponseTime > 0 && d > opts.MaxResponseTime && len(timing.Messages) < maxMessages {
			timing.Outcome = OutcomeFail
			timing.Messages = append(timing.Messages, fmt.Sprintf("%s: answered %d after %s, over the %s limit", where, e.Response.Status, d.Round(time.Millisecond), opts.MaxResponseTime))
			timing.Reproduce = append(timing.Reproduce, curl)
		}
	}
	if checked == 0 {
		return nil, fmt.Errorf("contract: replay %s: none of its %d entries is a request to one of the spec's operations", name, len(f.Log.Entries))
	}
	for i := range checks {
		c := &checks[i].res
		if c.Outcome == OutcomePass {
			c.Messages = []string{fmt.Sprintf("%d recorded responses validated (%d entries for other paths skipped)", checked, skipped)}
		}
		c.Requests = checked
		rep.Checks = append(rep.Checks, *c)
	}
	if opts.MaxResponseTime > 0 {
		if timing.Outcome == OutcomePass {
			timing.Messages = []string{fmt.Sprintf("%d recorded answers within %s (slowest %s)", checked, opts.MaxResponseTime, slowest.Round(time.Millisecond))}
		}
		rep.Checks = append(rep.Checks, timing)
	}
	rep.Requests = checked
	rep.Duration = time.Since(rep.Started)
	return rep, ctx.Err()
}

// replayRequest finds the spec operation a recorded request was for (its
// URL path ends with the operation's path; the recording may have been made
// under a prefix) and rebuilds the request; op is nil for other paths.
func replayRequest(spec *specModel, e *har.Entry) (*operation, *http.Request, error) {
	u, err := url.Parse(e.Request.URL)
	if err != nil {
		return nil, nil, fmt.Errorf("request url %q: %w", e.Request.URL, err)
	}
	var op *operation
	for _, o := range spec.ops {
		if o.method == e.Request.Method && strings.HasSuffix(u.Path, o.path) {
			op = o
			break
		}
	}
	if op == nil {
		return nil, nil, nil
	}
	req, err := http.NewRequest(e.Request.Method, u.String(), bytes.NewReader(e.RequestBody()))
	if err != nil {
		return nil, nil, fmt.Errorf("rebuild request: %w", err)
	}
	req.Header = har.Headers(e.Request.Headers)
	return op, req, nil
}

func containsString(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
