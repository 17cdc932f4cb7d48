// Package contract is a contract-test suite for servers of Distribute.AI's
// asynchronous speech API: the vendor's live service, this module's reference
// server, or anyone's own implementation.
//
// Run sends a bounded series of requests and returns a Report of named
// checks. Every response is validated against the embedded openapi.json
// (status, content type, body schema); on top of that the suite knows the
// API's semantics: it follows created tasks through their lifecycle, derives
// invalid inputs from the request schemas themselves, and probes
// authentication, not-found and cross-key isolation. The check names are
// stable so CI can track them (see docs/contract.md for the list).
package contract

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	asyncspeech "github.com/distributeai/asyncspeech"
	"github.com/distributeai/asyncspeech/internal/retry"
	"github.com/google/uuid"
)

// Options configure a suite run. Only APIKey is required.
type Options struct {
	// APIKey is sent in the authorization header, as the vendor's examples do.
	APIKey string
	// SecondKey, when set, is a second valid key used to check that tasks are
	// not readable across keys.
	SecondKey string
	// SkipCreate skips every check that creates a task or could create one on
	// a broken server; creating tasks costs money on the live API.
	SkipCreate bool
	// ExpectOpen downgrades "an unknown key was accepted" from a failure to a
	// warning, for servers deliberately run in open development mode. With
	// ExpectOpen and no SecondKey, a random key serves as the second key.
	ExpectOpen bool
	// MaxRequests bounds the HTTP requests of the whole run (default 400).
	// Checks that would exceed it are skipped and say so.
	MaxRequests int
	// PollTimeout bounds how long created tasks are polled for a terminal
	// status (default 3 minutes).
	PollTimeout time.Duration
	// PollInterval is the first wait between polls (default 200 ms); it grows
	// by half each round up to 2 s.
	PollInterval time.Duration
	// HTTPClient sends the requests (default: a client with a 30 s timeout).
	HTTPClient *http.Client
	// Logger receives one debug line per request (default: discard).
	Logger *slog.Logger
	// Examples is the number of generated create bodies to send after the
	// fixed checks (0: none): valid ones drawn from the request schema and
	// followed through the lifecycle, invalid ones breaking one rule each
	// (see docs/contract.md, "Generated inputs"). Every request counts
	// against MaxRequests.
	Examples int
	// Seed seeds the generator; the same seed sends the same bodies. 0 picks
	// a random seed, reported in Report.Seed.
	Seed uint64
	// MaxResponseTime, when positive, adds the check
	// conformance.response-time: every answer must arrive, body included,
	// within it.
	MaxResponseTime time.Duration
}

const (
	defaultMaxRequests  = 400
	defaultPollTimeout  = 3 * time.Minute
	defaultPollInterval = 200 * time.Millisecond
	maxPollInterval     = 2 * time.Second
	// stablePolls is how many times a task is polled again after its first
	// terminal status, to catch servers whose terminal statuses move.
	stablePolls = 2
	// maxMessages bounds the messages kept per check so a badly broken server
	// yields a readable report.
	maxMessages = 25
	maxBody     = 1 << 20
)

// errBudget marks a request refused because Options.MaxRequests is spent.
var errBudget = errors.New("request budget spent")

// Run runs the suite against the server at baseURL (e.g.
// https://api.distribute.ai) and returns its report. The error is non-nil
// only when the suite could not run (bad options, unreadable spec) or ctx
// ended; in the latter case the partial report is returned too.
func Run(ctx context.Context, baseURL string, opts Options) (*Report, error) {
	if opts.APIKey == "" {
		return nil, errors.New("contract: an API key is required")
	}
	u, err := url.Parse(strings.TrimRight(baseURL, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("contract: base URL %q: want http(s)://host[:port][/prefix]", baseURL)
	}
	if opts.MaxRequests <= 0 {
		opts.MaxRequests = defaultMaxRequests
	}
	if opts.PollTimeout <= 0 {
		opts.PollTimeout = defaultPollTimeout
	}
	if opts.PollInterval <= 0 {
		opts.PollInterval = defaultPollInterval
	}
	if opts.HTTPClient == nil {
		opts.HTTPClient = &http.Client{Timeout: 30 * time.Second}
	}
	if opts.Examples < 0 || opts.MaxResponseTime < 0 {
		return nil, errors.New("contract: Examples and MaxResponseTime must not be negative")
	}
	if opts.Seed == 0 {
		opts.Seed = RandomSeed()
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	spec, err := loadSpec(ctx)
	if err != nil {
		return nil, err
	}
	r := &runner{
		base:   u,
		opts:   opts,
		spec:   spec,
		create: spec.ops[asyncspeech.OperationCreate],
		result: spec.ops[asyncspeech.OperationResult],
		conf:   map[string]*conformance{},
		report: &Report{
			BaseURL: u.String(), Started: time.Now(), MaxRequests: opts.MaxRequests,
			SkipCreate: opts.SkipCreate, ExpectOpen: opts.ExpectOpen, SecondKey: opts.SecondKey != "",
		},
	}
	for _, k := range []string{violationStatus, violationContentType, violationSchema} {
		r.conf[k] = &conformance{seen: map[string]*seenViolation{}}
	}
	if opts.Examples > 0 {
		r.report.Seed, r.report.Examples = opts.Seed, opts.Examples
	}
	r.report.MaxResponseTime = opts.MaxResponseTime
	// The suite's own copy of the client records every request, for the
	// reproductions and the response-time check.
	client := *opts.HTTPClient
	next := client.Transport
	if next == nil {
		next = http.DefaultTransport
	}
	client.Transport = &recordingTransport{next: next, done: r.answered}
	r.opts.HTTPClient = &client
	if err := r.runAll(ctx); err != nil {
		return nil, err
	}
	r.finishConformance()
	r.report.Duration = time.Since(r.report.Started)
	r.report.Requests = r.requests
	r.report.TasksCreated = r.created
	if err := ctx.Err(); err != nil {
		r.report.Interrupted = err.Error()
		return r.report, fmt.Errorf("contract: run against %s interrupted: %w", u, err)
	}
	return r.report, nil
}

// conformance accumulates the violations of one kind over every response.
type conformance struct {
	responses int
	// seen groups identical violations: a server that adds a field to every
	// answer yields one line with a count, not one per poll.
	seen  map[string]*seenViolation
	order []string
}

type seenViolation struct {
	firstCheck string
	count      int
	// curl reproduces the first request that provoked the violation.
	curl string
}

type runner struct {
	base           *url.URL
	opts           Options
	spec           *specModel
	create, result *operation
	requests       int
	cur            *check
	conf           map[string]*conformance
	report         *Report
	tasks          []*probe
	// notFoundMessage is the server's 404 message for an unknown id.
	notFoundMessage string
	// keyRefused is the status (401 or 403) with which the server refused
	// Options.APIKey on the first result call, 0 while it was not.
	keyRefused int
	// lastReq is the request whose answer was read last; slow the requests
	// answered slower than Options.MaxResponseTime, with the check that
	// sent them.
	lastReq   *sentRequest
	slow      []slowRequest
	responses int
	slowest   time.Duration
	// created counts the 200 answers to create: the tasks this run made.
	created int
}

// slowRequest is an answer slower than Options.MaxResponseTime.
type slowRequest struct {
	req   *sentRequest
	check string
}

// check collects the verdict of one named check while it runs.
type check struct {
	res                   CheckResult
	failed, warned, skips bool
	// budget and interrupted mark a check skipped because the request
	// budget ran out or the run's context ended.
	budget, interrupted bool
	// r is the run; last the last request this check sent. A failure gets
	// a curl reproduction of the request it is about.
	r    *runner
	last *sentRequest
}

func (c *check) add(format string, a ...any) {
	if len(c.res.Messages) < maxMessages {
		c.res.Messages = append(c.res.Messages, fmt.Sprintf(format, a...))
	} else if len(c.res.Messages) == maxMessages {
		c.res.Messages = append(c.res.Messages, "... further messages left out")
	}
}

func (c *check) fail(format string, a ...any) {
	c.failed = true
	c.add(format, a...)
	c.reproduce(fmt.Sprintf(format, a...))
}

// reproduce attaches a curl command for the request a failure message is
// about: the result call of a task the message names, or else the last
// request the check sent.
func (c *check) reproduce(msg string) {
	if c.r == nil || len(c.res.Reproduce) >= maxMessages {
		return
	}
	var cmd string
	for _, t := range c.r.tasks {
		if t.id != "" && strings.Contains(msg, t.id) {
			cmd = c.r.curlFor(c.r.result, "application/json", c.r.resultBody(t.id), c.r.opts.APIKey)
			break
		}
	}
	if cmd == "" && c.last != nil {
		cmd = c.r.curl(c.last)
	}
	c.addReproduction(cmd)
}

func (c *check) addReproduction(cmd string) {
	if cmd == "" || slices.Contains(c.res.Reproduce, cmd) {
		return
	}
	c.res.Reproduce = append(c.res.Reproduce, cmd)
}
func (c *check) warn(format string, a ...any) { c.warned = true; c.add(format, a...) }
func (c *check) skip(format string, a ...any) { c.skips = true; c.add(format, a...) }
func (c *check) note(format string, a ...any) { c.add(format, a...) }

// requestFailed records a request that got no HTTP answer: a spent budget or
// a cancelled run skips the check, anything else (connection refused, timeout)
// fails it.
func (c *check) requestFailed(ctx context.Context, err error) {
	switch {
	case errors.Is(err, errBudget):
		c.budget = true
		c.skip("not run to the end: %v", err)
	case ctx.Err() != nil:
		c.interrupted = true
		c.skip("run interrupted: %v", ctx.Err())
	default:
		c.fail("request failed: %v", err)
	}
}

func (c *check) outcome() Outcome {
	switch {
	case c.failed:
		return OutcomeFail
	case c.skips:
		return OutcomeSkip
	case c.warned:
		return OutcomeWarn
	}
	return OutcomePass
}

// runCheck runs fn as the check name and appends its result to the report.
func (r *runner) runCheck(ctx context.Context, name, description string, creates bool, fn func(c *check)) {
	start := time.Now()
	category, _, _ := strings.Cut(name, ".")
	c := &check{r: r, res: CheckResult{Name: name, Category: category, Description: description, Creates: creates}}
	switch {
	case ctx.Err() != nil:
		c.interrupted = true
		c.skip("run interrupted: %v", ctx.Err())
	case creates && r.opts.SkipCreate:
		c.skip("skipped: this check creates tasks (SkipCreate / --skip-create)")
	case r.keyRefused != 0 && !keyIndependent(name):
		// Every answer would be the same refusal: a negative check would
		// "pass" on it, a positive one fail, and neither would test anything.
		c.skip("API key refused (%d): this check needs a key the server accepts (see notfound.result)", r.keyRefused)
	default:
		r.cur = c
		fn(c)
		r.cur = nil
	}
	c.res.Outcome = c.outcome()
	c.res.Duration = time.Since(start)
	if c.res.Outcome == OutcomeSkip {
		switch {
		case c.interrupted:
			r.report.InterruptedSkipped++
		case c.budget:
			r.report.BudgetSkipped++
		}
	}
	r.report.Checks = append(r.report.Checks, c.res)
}

// keyIndependent reports whether check name means the same whether or not
// the server accepts Options.APIKey: the auth checks send no key or a made-up
// one, and want the 401 a refused key gets too.
func keyIndependent(name string) bool {
	switch name {
	case "auth.result.no-key", "auth.result.wrong-key", "auth.create.no-key", "auth.create.wrong-key":
		return true
	}
	return false
}

// exchange is one request and its answer.
type exchange struct {
	status int
	header http.Header
	body   []byte
}

// message returns the "message" of a JSON error body, or "".
func (x *exchange) message() string {
	var m struct {
		Message string `json:"message"`
	}
	_ = json.Unmarshal(x.body, &m)
	return m.Message
}

func (x *exchange) summary() string {
	b := x.body
	if len(b) > 200 {
		b = append(b[:200:200], "..."...)
	}
	return fmt.Sprintf("%d %s", x.status, strings.TrimSpace(string(b)))
}

// take reserves one request of the budget.
func (r *runner) take() error {
	if r.requests >= r.opts.MaxRequests {
		return fmt.Errorf("%w (MaxRequests %d)", errBudget, r.opts.MaxRequests)
	}
	r.requests++
	if r.cur != nil {
		r.cur.res.Requests++
	}
	return nil
}

// post sends body to op. An empty key sends no authorization header. Every
// answer is validated against the contract and its violations recorded in
// the conformance checks, naming the check that provoked them. 429 answers
// are retried twice after their Retry-After (at most 5 s), so a rate limit
// on a live service does not turn into false verdicts.
func (r *runner) post(ctx context.Context, op *operation, contentType string, body []byte, key string) (*exchange, error) {
	for attempt := 0; ; attempt++ {
		x, req, err := r.send(ctx, op, contentType, body, key)
		if err != nil {
			return nil, err
		}
		r.recordConformance(ctx, op, req, x)
		if op == r.create && x.status >= 200 && x.status < 300 {
			r.created++
		}
		if x.status != http.StatusTooManyRequests || attempt == 2 {
			return x, nil
		}
		wait := time.Second
		if d, ok := retry.ParseRetryAfter(x.header.Get("Retry-After"), time.Now()); ok {
			wait = min(d, 5*time.Second)
		}
		if err := retry.Sleep(ctx, wait); err != nil {
			return nil, err
		}
	}
}

func (r *runner) send(ctx context.Context, op *operation, contentType string, body []byte, key string) (*exchange, *http.Request, error) {
	if err := r.take(); err != nil {
		return nil, nil, err
	}
	target := r.base.JoinPath(op.path).String()
	req, err := http.NewRequestWithContext(ctx, op.method, target, bytes.NewReader(body))
	if err != nil {
		return nil, nil, fmt.Errorf("build %s %s: %w", op.method, target, err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	req.Header.Set("Accept", "application/json")
	if key != "" {
		req.Header.Set("authorization", key)
	}
	start := time.Now()
	resp, err := r.opts.HTTPClient.Do(req)
	if err != nil {
		return nil, nil, fmt.Errorf("%s %s: %w", op.method, target, err)
	}
	defer resp.Body.Close()
	b, err := readLimited(resp.Body, maxBody)
	if err != nil {
		return nil, nil, fmt.Errorf("%s %s: read body: %w", op.method, target, err)
	}
	r.opts.Logger.Debug("contract request", "check", r.curName(), "operation", op.id, "status", resp.StatusCode,
		"duration", time.Since(start), "request_id", resp.Header.Get("X-Request-Id"))
	return &exchange{status: resp.StatusCode, header: resp.Header, body: b}, req, nil
}

func (r *runner) curName() string {
	if r.cur == nil {
		return ""
	}
	return r.cur.res.Name
}

func (r *runner) recordConformance(ctx context.Context, op *operation, req *http.Request, x *exchange) {
	for _, c := range r.conf {
		c.responses++
	}
	for _, v := range r.spec.validateResponse(ctx, op, req, x.status, x.header, x.body) {
		c := r.conf[v.kind]
		key := fmt.Sprintf("%s %s: %s", op.method, op.path, v.message)
		if s, ok := c.seen[key]; ok {
			s.count++
			continue
		}
		sv := &seenViolation{firstCheck: r.curName(), count: 1}
		if r.lastReq != nil {
			sv.curl = r.curl(r.lastReq)
		}
		c.seen[key] = sv
		c.order = append(c.order, key)
	}
}

func (r *runner) finishConformance() {
	descs := []struct{ kind, name, desc string }{
		{violationStatus, "conformance.status", "every response has a status the spec documents, or a documented extension (400 on result, 401, 413, 415, 429, 503)"},
		{violationContentType, "conformance.content-type", "every response is application/json"},
		{violationSchema, "conformance.schema", "every response body validates against the spec's schema for its status"},
	}
	var checks []CheckResult
	for _, d := range descs {
		acc := r.conf[d.kind]
		c := CheckResult{Name: d.name, Category: "conformance", Description: d.desc, Outcome: OutcomePass}
		switch {
		case len(acc.order) > 0:
			c.Outcome = OutcomeFail
			for i, key := range acc.order {
				if i == maxMessages {
					c.Messages = append(c.Messages, fmt.Sprintf("... and %d more distinct violations", len(acc.order)-i))
					break
				}
				s := acc.seen[key]
				c.Messages = append(c.Messages, fmt.Sprintf("%s (%d responses, first in %s)", key, s.count, s.firstCheck))
				if s.curl != "" && !slices.Contains(c.Reproduce, s.curl) {
					c.Reproduce = append(c.Reproduce, s.curl)
				}
			}
		case acc.responses == 0:
			c.Outcome = OutcomeSkip
			c.Messages = []string{"no API response was received"}
		default:
			c.Messages = []string{fmt.Sprintf("%d responses validated", acc.responses)}
		}
		checks = append(checks, c)
	}
	if r.opts.MaxResponseTime > 0 {
		checks = append(checks, r.responseTimeCheck())
	}
	r.report.Checks = append(checks, r.report.Checks...)
}

// runAll runs every check in an order that spends requests on what matters
// most first: not-found, the task flows, auth and isolation, then the
// derived negative inputs.
func (r *runner) runAll(ctx context.Context) error {
	createCases, err := deriveNegatives(r.create)
	if err != nil {
		return err
	}
	resultCases, err := deriveNegatives(r.result)
	if err != nil {
		return err
	}
	minimal, err := example(r.create.body, false)
	if err != nil {
		return fmt.Errorf("contract: minimal create body: %w", err)
	}
	full, err := example(r.create.body, true)
	if err != nil {
		return fmt.Errorf("contract: full create body: %w", err)
	}

	r.checkNotFound(ctx)
	r.checkCreate(ctx, "create.minimal", "create with only the required fields answers 200 {id} with a UUIDv4 id", "minimal", minimal)
	r.checkCreate(ctx, "create.all-fields", "create with every optional field set answers 200 {id} with a UUIDv4 id", "all-fields", full)
	r.checkLifecycle(ctx)
	r.checkAudio(ctx)
	r.checkAuthResult(ctx)
	r.checkIsolation(ctx)
	for _, nc := range resultCases {
		r.checkNegative(ctx, r.result, nc)
	}
	r.checkAuthCreate(ctx, minimal)
	for _, nc := range createCases {
		r.checkNegative(ctx, r.create, nc)
	}
	if r.opts.Examples > 0 {
		r.checkGenerated(ctx)
	}
	return nil
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		// Only values built by this package reach here; they always encode.
		panic(fmt.Sprintf("contract: encode %T: %v", v, err))
	}
	return b
}

func (r *runner) resultBody(id string) []byte { return mustJSON(map[string]string{"id": id}) }

func (r *runner) checkNotFound(ctx context.Context) {
	r.runCheck(ctx, "notfound.result", "the result of a random, valid UUIDv4 is 404 with a {\"message\"} body", false, func(c *check) {
		id := uuid.NewString()
		x, err := r.post(ctx, r.result, "application/json", r.resultBody(id), r.opts.APIKey)
		if err != nil {
			c.requestFailed(ctx, err)
			return
		}
		switch {
		case x.status == http.StatusNotFound:
		case x.status == http.StatusUnauthorized || x.status == http.StatusForbidden:
			// The first request of the run doubles as the key's preflight.
			r.keyRefused = x.status
			r.report.KeyRefused = x.status
			c.fail("API key refused (%d): the server refused the API key (APIKey / --api-key) on a result call for the random id %s, so every check that needs an accepted key is skipped; check the key (%s)", x.status, id, x.summary())
			return
		default:
			c.fail("id %s: got %s, want 404", id, x.summary())
			return
		}
		msg := x.message()
		if msg == "" {
			c.fail("id %s: 404 body has no non-empty \"message\": %s", id, x.summary())
			return
		}
		r.notFoundMessage = msg
		c.note("404 %q", msg)
	})
}

// checkNegative sends one derived invalid request; it must get a 4xx.
func (r *runner) checkNegative(ctx context.Context, op *operation, nc negativeCase) {
	name := "negative." + op.short + "." + nc.name
	// On create, a server that wrongly accepts an invalid body creates a task.
	creates := op == r.create
	r.runCheck(ctx, name, "rejected with a 4xx: "+nc.description, creates, func(c *check) {
		x, err := r.post(ctx, op, nc.contentType, nc.body, r.opts.APIKey)
		if err != nil {
			c.requestFailed(ctx, err)
			return
		}
		switch {
		case x.status >= 400 && x.status < 500:
			c.note("%d %q", x.status, x.message())
		case x.status >= 500:
			c.fail("sent %s (%s): got %s, want a 4xx: invalid input must not be a server error", clip(nc.body), nc.contentType, x.summary())
		default:
			c.fail("sent %s (%s): got %s, want a 4xx: the server accepted input the spec forbids", clip(nc.body), nc.contentType, x.summary())
		}
	})
}

func clip(b []byte) string {
	if len(b) == 0 {
		return "an empty body"
	}
	if len(b) > 120 {
		return fmt.Sprintf("%s... (%d bytes)", b[:120], len(b))
	}
	return string(b)
}

// targetID is the id used by the auth and isolation probes: a real task when
// one was created, so that "served" is unambiguous.
func (r *runner) targetID() (string, bool) {
	for _, t := range r.tasks {
		if t.id != "" {
			return t.id, true
		}
	}
	return uuid.NewString(), false
}

func wrongKey() string { return "contract-wrong-key-" + strings.ReplaceAll(uuid.NewString(), "-", "") }

func (r *runner) checkAuthResult(ctx context.Context) {
	r.runCheck(ctx, "auth.result.no-key", "the result call without an authorization header is refused with 401", false, func(c *check) {
		id, real := r.targetID()
		x, err := r.post(ctx, r.result, "application/json", r.resultBody(id), "")
		if err != nil {
			c.requestFailed(ctx, err)
			return
		}
		r.judgeAuth(c, x, id, real, false)
	})
	r.runCheck(ctx, "auth.result.wrong-key", "the result call with an unknown key is refused with 401", false, func(c *check) {
		id, real := r.targetID()
		x, err := r.post(ctx, r.result, "application/json", r.resultBody(id), wrongKey())
		if err != nil {
			c.requestFailed(ctx, err)
			return
		}
		r.judgeAuth(c, x, id, real, true)
	})
}

func (r *runner) checkAuthCreate(ctx context.Context, minimal any) {
	body := mustJSON(minimal)
	r.runCheck(ctx, "auth.create.no-key", "create without an authorization header is refused with 401", true, func(c *check) {
		x, err := r.post(ctx, r.create, "application/json", body, "")
		if err != nil {
			c.requestFailed(ctx, err)
			return
		}
		r.judgeAuthCreate(c, x, false)
	})
	r.runCheck(ctx, "auth.create.wrong-key", "create with an unknown key is refused with 401", true, func(c *check) {
		x, err := r.post(ctx, r.create, "application/json", body, wrongKey())
		if err != nil {
			c.requestFailed(ctx, err)
			return
		}
		r.judgeAuthCreate(c, x, true)
	})
}

const openMode = "the server accepted an unknown API key: it runs in open development mode or does not check keys"

// openModeHint says what an accepted unknown key means, for a run with or
// without ExpectOpen.
func (r *runner) openModeHint() string {
	if r.opts.ExpectOpen {
		return openMode + ", as ExpectOpen (--expect-open) says it should"
	}
	return openMode + "; if that is intended, run with ExpectOpen (--expect-open) to make this a warning"
}

func (r *runner) judgeAuth(c *check, x *exchange, id string, real, withKey bool) {
	what := "without a key"
	if withKey {
		what = "with an unknown key"
	}
	switch {
	case x.status == http.StatusUnauthorized || x.status == http.StatusForbidden:
		c.note("%d %q", x.status, x.message())
	case x.status >= 200 && x.status < 300:
		c.fail("result of task %s %s: got %s, want 401: the task was served", id, what, x.summary())
	case x.status == http.StatusNotFound && withKey:
		// The key got as far as the task lookup: it was accepted.
		if r.opts.ExpectOpen {
			c.warn("got 404, not 401: %s", r.openModeHint())
		} else {
			c.fail("got 404, not 401: %s", r.openModeHint())
		}
	default:
		c.fail("result of %s %s: got %s, want 401", idKind(real), what, x.summary())
	}
}

func idKind(real bool) string {
	if real {
		return "a task created by this run"
	}
	return "a random id"
}

func (r *runner) judgeAuthCreate(c *check, x *exchange, withKey bool) {
	switch {
	case x.status == http.StatusUnauthorized || x.status == http.StatusForbidden:
		c.note("%d %q", x.status, x.message())
	case x.status >= 200 && x.status < 300 && withKey:
		if r.opts.ExpectOpen {
			c.warn("create with an unknown key got %d: %s", x.status, r.openModeHint())
		} else {
			c.fail("create with an unknown key got %s, want 401: %s", x.summary(), r.openModeHint())
		}
	default:
		what := "without a key"
		if withKey {
			what = "with an unknown key"
		}
		c.fail("create %s: got %s, want 401", what, x.summary())
	}
}

func (r *runner) checkIsolation(ctx context.Context) {
	r.runCheck(ctx, "isolation.second-key", "a task created with one key is 404 for another key, as an unknown id is", false, func(c *check) {
		second := r.opts.SecondKey
		if second == "" {
			if !r.opts.ExpectOpen {
				c.skip("no second key given (SecondKey / --second-key)")
				return
			}
			// In open development mode any key is valid and owns its own tasks.
			second = wrongKey()
			c.note("open development mode: a random key serves as the second key")
		}
		id, real := r.targetID()
		if !real {
			c.skip("no task was created to probe with")
			return
		}
		x, err := r.post(ctx, r.result, "application/json", r.resultBody(id), second)
		if err != nil {
			c.requestFailed(ctx, err)
			return
		}
		switch {
		case x.status == http.StatusNotFound:
			c.note("404 %q", x.message())
		case x.status >= 200 && x.status < 300:
			c.fail("task %s created with the first key was served to the second key: %s", id, x.summary())
		case x.status == http.StatusUnauthorized && r.opts.SecondKey != "":
			c.skip("the second key was refused (401): give a second key the server accepts to test isolation")
		default:
			c.fail("task %s with the second key: got %s, want 404", id, x.summary())
		}
	})
}
