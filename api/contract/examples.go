package contract

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"time"
	"unicode/utf8"
)

const (
	// exampleBatch is how many valid bodies are created before their tasks
	// are polled together, so the server works on several at once.
	exampleBatch = 10
	// maxShrunk bounds the failures shrunk per check; later ones are listed,
	// up to maxListed, then counted.
	maxShrunk = 3
	maxListed = 10
	// maxShrinkTrials bounds the bodies one shrink sends.
	maxShrinkTrials = 60
)

// verdict is how one generated body fared; sig is "" when it passed.
type verdict struct {
	// sig names the kind of failure; a shrink step keeps a simpler body
	// only when it fails with the same sig.
	sig    string
	detail string
	// create is the create request of the body, failing the request that
	// showed the failure (the create itself or a poll of its task).
	create, failing *sentRequest
	errored         bool // the task ended in ERROR (legal, counted)
	// notFound: create answered 404, which the spec documents for create
	// (the reference server: a voice that is neither an enum value nor an
	// uploaded voice file_id). Legal for a schema-valid body, counted.
	notFound bool
}

// followed is a task created from a generated body, being polled.
type followed struct {
	id   string
	last observation
	seen bool
	done bool
	v    *verdict
}

// checkGenerated runs Options.Examples generated create bodies as two
// checks, generated.valid and generated.invalid.
func (r *runner) checkGenerated(ctx context.Context) {
	exs, genErr := generateExamples(r.create.body, r.opts.Seed, r.opts.Examples)
	var valid, invalid []generated
	for _, ex := range exs {
		if ex.valid {
			valid = append(valid, ex)
		} else {
			invalid = append(invalid, ex)
		}
	}
	seed := r.opts.Seed
	r.runCheck(ctx, "generated.valid", fmt.Sprintf("%d bodies drawn from the create schema (seed %d) are each answered 200 {id}, and each task reaches COMPLETED or ERROR, every poll answering 200 in a legal order", len(valid), seed), true, func(c *check) {
		if genErr != nil {
			c.fail("suite error: %v", genErr)
			return
		}
		r.runValid(ctx, c, valid)
	})
	r.runCheck(ctx, "generated.invalid", fmt.Sprintf("%d bodies breaking one rule of the create schema each (seed %d) are refused with a 4xx", len(invalid), seed), true, func(c *check) {
		if genErr != nil {
			c.fail("suite error: %v", genErr)
			return
		}
		r.runInvalid(ctx, c, invalid)
	})
}

// stopErr reports whether err ends the generated run: a spent budget or
// an ended context, as opposed to one request that got no answer.
func stopErr(ctx context.Context, err error) bool {
	return err != nil && (errors.Is(err, errBudget) || ctx.Err() != nil)
}

func (r *runner) runValid(ctx context.Context, c *check, exs []generated) {
	var failures []failure
	sent, completed, errored, notFound := 0, 0, 0, 0
	var firstErrored *generated
	for start := 0; start < len(exs); start += exampleBatch {
		batch := exs[start:min(start+exampleBatch, len(exs))]
		var tasks []*followed
		var owners []generated
		var stop error
		for _, ex := range batch {
			f, v, err := r.createValid(ctx, ex.value)
			if stopErr(ctx, err) {
				stop = err
				break
			}
			sent++
			switch {
			case f != nil:
				tasks, owners = append(tasks, f), append(owners, ex)
			case v.notFound:
				notFound++
			default:
				failures = append(failures, failure{ex, v})
			}
		}
		if err := r.follow(ctx, tasks); stopErr(ctx, err) && stop == nil {
			stop = err
		}
		for i, f := range tasks {
			switch {
			case f.v.sig != "":
				failures = append(failures, failure{owners[i], f.v})
			case f.v.errored:
				errored++
				if firstErrored == nil {
					firstErrored = &owners[i]
				}
			case f.done:
				completed++
			}
		}
		if stop != nil {
			c.requestFailed(ctx, stop)
			break
		}
	}
	r.reportFailures(ctx, c, failures, "a body the schema accepts must be accepted and run to COMPLETED or ERROR")
	if firstErrored != nil {
		// Legal, as in lifecycle.terminal, but worth a look: the server
		// could not serve a request the spec allows.
		c.warn("%d tasks of valid bodies ended in ERROR, the first example #%d of seed %d: %s", errored, firstErrored.n, r.opts.Seed, summarize(firstErrored.value))
	}
	c.note("%d of %d valid bodies sent; %d tasks COMPLETED, %d ended in ERROR (legal for a valid request), %d creates answered the documented 404 (e.g. a voice that names no voice file)", sent, len(exs), completed, errored, notFound)
}

func (r *runner) runInvalid(ctx context.Context, c *check, exs []generated) {
	var failures []failure
	sent := 0
	rules := map[string]int{}
	for _, ex := range exs {
		v, err := r.sendInvalid(ctx, ex.value)
		if stopErr(ctx, err) {
			c.requestFailed(ctx, err)
			break
		}
		sent++
		rules[ex.rule]++
		if v.sig != "" {
			failures = append(failures, failure{ex, v})
		}
	}
	r.reportFailures(ctx, c, failures, "a body the schema forbids must be refused with a 4xx")
	names := make([]string, 0, len(rules))
	for k, n := range rules {
		names = append(names, fmt.Sprintf("%s×%d", k, n))
	}
	sort.Strings(names)
	c.note("%d of %d invalid bodies sent, rules broken: %s", sent, len(exs), strings.Join(names, ", "))
}

// failure is a generated body that failed, with how.
type failure struct {
	ex generated
	v  *verdict
}

// reportFailures shrinks the first failures and reports each with the seed
// and a curl reproduction of the shrunk body's failing request.
func (r *runner) reportFailures(ctx context.Context, c *check, failures []failure, want string) {
	for i, f := range failures {
		kind := "valid"
		if !f.ex.valid {
			kind = "invalid: breaks " + f.ex.rule
		}
		c.failed = true
		if i >= maxShrunk+maxListed {
			c.add("... and %d more failing examples", len(failures)-i)
			break
		}
		if i >= maxShrunk {
			c.add("also example #%d of seed %d (%s): sent %s: %s", f.ex.n, r.opts.Seed, kind, summarize(f.ex.value), f.v.detail)
			continue
		}
		c.add("example #%d of seed %d (%s): sent %s: %s; %s", f.ex.n, r.opts.Seed, kind, summarize(f.ex.value), f.v.detail, want)
		small, sv, steps, reqs, err := r.shrink(ctx, f)
		switch {
		case steps > 0:
			c.add("shrunk in %d steps (%d requests) to %s: %s", steps, reqs, summarize(small), sv.detail)
		case err == nil:
			c.add("no simpler body fails the same way (%d requests tried)", reqs)
		}
		if err != nil {
			c.add("shrinking stopped: %v", err)
		}
		if sv.create != nil {
			c.addReproduction(r.curl(sv.create))
		}
		if sv.failing != nil && sv.failing != sv.create {
			c.addReproduction(r.curl(sv.failing))
		}
	}
}

// shrink looks for a simpler body that fails the same way, taking the first
// simpler candidate that does until none does or the trials are spent.
func (r *runner) shrink(ctx context.Context, f failure) (map[string]any, *verdict, int, int, error) {
	cur, cv := f.ex.value, f.v
	steps, trials, before := 0, 0, r.requests
	for trials < maxShrinkTrials {
		improved := false
		for _, cand := range simpler(r.create.body, cur, f.ex.valid, f.ex.keep) {
			if trials >= maxShrinkTrials {
				break
			}
			trials++
			var v *verdict
			var err error
			if f.ex.valid {
				v, err = r.tryValid(ctx, cand)
			} else {
				v, err = r.sendInvalid(ctx, cand)
			}
			if err != nil {
				return cur, cv, steps, r.requests - before, err
			}
			if v.sig == cv.sig {
				cur, cv, improved = cand, v, true
				steps++
				break
			}
		}
		if !improved {
			break
		}
	}
	return cur, cv, steps, r.requests - before, nil
}

// tryValid creates one valid body and follows its task to the end.
func (r *runner) tryValid(ctx context.Context, body map[string]any) (*verdict, error) {
	f, v, err := r.createValid(ctx, body)
	if stopErr(ctx, err) {
		return nil, err
	}
	if f == nil {
		return v, nil
	}
	if err := r.follow(ctx, []*followed{f}); stopErr(ctx, err) {
		return nil, err
	}
	return f.v, nil
}

// createValid sends a valid body; it returns the task to follow, or the
// verdict of a create that failed.
func (r *runner) createValid(ctx context.Context, body map[string]any) (*followed, *verdict, error) {
	x, err := r.post(ctx, r.create, "application/json", mustJSON(body), r.opts.APIKey)
	if err != nil {
		if stopErr(ctx, err) {
			return nil, nil, err
		}
		return nil, &verdict{sig: "create got no answer", detail: err.Error(), create: r.lastReq, failing: r.lastReq}, nil
	}
	v := &verdict{create: r.lastReq, failing: r.lastReq}
	switch {
	case x.status == http.StatusNotFound && x.message() != "":
		v.notFound = true
		return nil, v, nil
	case x.status != http.StatusOK:
		v.sig, v.detail = fmt.Sprintf("create answered %d", x.status), fmt.Sprintf("got %s, want 200 (or the documented 404)", x.summary())
		return nil, v, nil
	}
	var resp struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(x.body, &resp); err != nil || resp.ID == "" {
		v.sig, v.detail = "create 200 without an id", fmt.Sprintf("200 body has no string id: %s", x.summary())
		return nil, v, nil
	}
	if err := validateRequestValue(r.result.body, map[string]any{"id": resp.ID}); err != nil {
		v.sig, v.detail = "create id not a UUIDv4", fmt.Sprintf("id %q is not a UUIDv4 the result call accepts", resp.ID)
		return nil, v, nil
	}
	return &followed{id: resp.ID, v: &verdict{create: v.create}}, nil, nil
}

// follow polls tasks round-robin until each reaches COMPLETED or ERROR,
// fails, or Options.PollTimeout passes; each task's verdict is set.
func (r *runner) follow(ctx context.Context, tasks []*followed) error {
	deadline := time.Now().Add(r.opts.PollTimeout)
	interval := r.opts.PollInterval
	for {
		pending := 0
		for _, f := range tasks {
			if f.done {
				continue
			}
			if err := r.pollFollowed(ctx, f); stopErr(ctx, err) {
				return err
			}
			if !f.done {
				pending++
			}
		}
		if pending == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			for _, f := range tasks {
				if !f.done {
					f.done = true
					f.v.sig = "task not finished in time"
					f.v.detail = fmt.Sprintf("task %s still %s after %s (PollTimeout / --poll-timeout)", f.id, f.last.status, r.opts.PollTimeout)
				}
			}
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(interval):
		}
		interval = min(interval*3/2, maxPollInterval)
	}
}

func (r *runner) pollFollowed(ctx context.Context, f *followed) error {
	x, err := r.post(ctx, r.result, "application/json", r.resultBody(f.id), r.opts.APIKey)
	failWith := func(sig, detail string) {
		f.done = true
		f.v.sig, f.v.detail, f.v.failing = sig, fmt.Sprintf("task %s: %s", f.id, detail), r.lastReq
	}
	if err != nil {
		if stopErr(ctx, err) {
			return err
		}
		failWith("result call got no answer", err.Error())
		return nil
	}
	if x.status != http.StatusOK {
		failWith(fmt.Sprintf("result call answered %d", x.status), fmt.Sprintf("result call got %s, want 200", x.summary()))
		return nil
	}
	o := decodeObservation(x.body)
	switch {
	case !o.decodeOK:
		failWith("result answer not a JSON object", clip(x.body))
		return nil
	case !o.status.Valid():
		failWith("unknown status", fmt.Sprintf("status %q is not one of the seven statuses", o.status))
		return nil
	case f.seen && f.last.status != o.status && !reachable(f.last.status, o.status):
		failWith("illegal lifecycle move", fmt.Sprintf("%s after %s is not a legal lifecycle move", o.status, f.last.status))
		return nil
	}
	f.last, f.seen = o, true
	if o.status.Terminal() {
		f.done = true
		f.v.errored = string(o.status) == "ERROR"
	}
	return nil
}

// sendInvalid sends an invalid body; it must be refused with a 4xx.
func (r *runner) sendInvalid(ctx context.Context, body map[string]any) (*verdict, error) {
	x, err := r.post(ctx, r.create, "application/json", mustJSON(body), r.opts.APIKey)
	if err != nil {
		if stopErr(ctx, err) {
			return nil, err
		}
		return &verdict{sig: "no answer", detail: err.Error(), create: r.lastReq, failing: r.lastReq}, nil
	}
	v := &verdict{create: r.lastReq, failing: r.lastReq}
	switch {
	case x.status >= 400 && x.status < 500:
	case x.status >= 500:
		v.sig, v.detail = fmt.Sprintf("answered %d", x.status), fmt.Sprintf("got %s, want a 4xx: invalid input must not be a server error", x.summary())
	case x.status >= 200 && x.status < 300:
		v.sig, v.detail = "accepted", fmt.Sprintf("got %s, want a 4xx: the server accepted input the spec forbids", x.summary())
	default:
		v.sig, v.detail = fmt.Sprintf("answered %d", x.status), fmt.Sprintf("got %s, want a 4xx", x.summary())
	}
	return v, nil
}

// summarize renders a body for a message: JSON, with each string longer
// than 40 characters cut and its length in characters and bytes given (the
// reproduction carries the whole body).
func summarize(v map[string]any) string {
	names := make([]string, 0, len(v))
	for n := range v {
		names = append(names, n)
	}
	sort.Strings(names)
	var parts []string
	for _, n := range names {
		val := v[n]
		if s, ok := val.(string); ok && utf8.RuneCountInString(s) > 40 {
			rs := []rune(s)
			parts = append(parts, fmt.Sprintf("%q:%s… (%d characters, %d bytes)", n, mustJSON(string(rs[:20])), len(rs), len(s)))
			continue
		}
		parts = append(parts, fmt.Sprintf("%q:%s", n, mustJSON(val)))
	}
	return "{" + strings.Join(parts, ",") + "}"
}
