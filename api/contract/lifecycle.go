package contract

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/distributeai/asyncspeech/api/task"
)

// probe is a task this run created and follows.
type probe struct {
	label string // which create check made it
	id    string
	model string // the model asked for
	obs   []observation
	// pollErrors are result calls for this task that did not answer 200.
	pollErrors []string
	timedOut   bool
	budgetOut  bool
	// polledAfterTerminal counts polls after the first terminal status.
	polledAfterTerminal int
	firstTerminal       int // index in obs, -1 until seen
}

// observation is one 200 answer of the result call for a task.
type observation struct {
	raw      []byte
	id       string
	status   task.Status
	created  *float64
	finished *float64
	model    string
	results  []string // the url of each result entry
	decodeOK bool
}

func (t *probe) done() bool {
	return t.timedOut || t.budgetOut || (t.firstTerminal >= 0 && t.polledAfterTerminal >= stablePolls) || len(t.pollErrors) >= 3
}

func (t *probe) statuses() string {
	var b strings.Builder
	for i, o := range t.obs {
		if i > 0 && o.status == t.obs[i-1].status {
			continue
		}
		if b.Len() > 0 {
			b.WriteString(" → ")
		}
		b.WriteString(string(o.status))
	}
	return b.String()
}

func (t *probe) name() string { return fmt.Sprintf("task %s (%s)", t.id, t.label) }

func (r *runner) checkCreate(ctx context.Context, name, description, label string, body any) {
	r.runCheck(ctx, name, description, true, func(c *check) {
		if err := validateRequestValue(r.create.body, body); err != nil {
			c.fail("suite error: its own %s body is invalid against the spec: %v", label, err)
			return
		}
		b := mustJSON(body)
		x, err := r.post(ctx, r.create, "application/json", b, r.opts.APIKey)
		if err != nil {
			c.requestFailed(ctx, err)
			return
		}
		if x.status != http.StatusOK {
			c.fail("sent %s: got %s, want 200", b, x.summary())
			return
		}
		var resp struct {
			ID string `json:"id"`
		}
		if err := json.Unmarshal(x.body, &resp); err != nil || resp.ID == "" {
			c.fail("sent %s: 200 body has no string id: %s", b, x.summary())
			return
		}
		// The spec types the id as a plain string but the result call only
		// takes a UUIDv4: any other id can never be polled.
		if err := validateRequestValue(r.result.body, map[string]any{"id": resp.ID}); err != nil {
			c.fail("id %q is not a UUIDv4 the result call accepts (pattern of the result request)", resp.ID)
			return
		}
		model, _ := body.(map[string]any)["model"].(string)
		r.tasks = append(r.tasks, &probe{label: label, id: resp.ID, model: model, firstTerminal: -1})
		c.note("id %s", resp.ID)
	})
}

// poll reads one task's status once.
func (r *runner) poll(ctx context.Context, c *check, t *probe) {
	x, err := r.post(ctx, r.result, "application/json", r.resultBody(t.id), r.opts.APIKey)
	if err != nil {
		if ctx.Err() != nil || isBudget(err) {
			t.budgetOut = true
			c.requestFailed(ctx, err)
			return
		}
		t.pollErrors = append(t.pollErrors, err.Error())
		return
	}
	if x.status != http.StatusOK {
		t.pollErrors = append(t.pollErrors, fmt.Sprintf("result call answered %s", x.summary()))
		return
	}
	o := decodeObservation(x.body)
	t.obs = append(t.obs, o)
	if t.firstTerminal >= 0 {
		t.polledAfterTerminal++
	} else if o.status.Terminal() {
		t.firstTerminal = len(t.obs) - 1
	}
}

func isBudget(err error) bool { return errors.Is(err, errBudget) }

func decodeObservation(body []byte) observation {
	o := observation{raw: body}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(body, &m); err != nil {
		return o
	}
	o.decodeOK = true
	_ = json.Unmarshal(m["id"], &o.id)
	var s string
	_ = json.Unmarshal(m["status"], &s)
	o.status = task.Status(s)
	_ = json.Unmarshal(m["model"], &o.model)
	if v, ok := m["created"]; ok {
		var f float64
		if json.Unmarshal(v, &f) == nil {
			o.created = &f
		}
	}
	if v, ok := m["finished"]; ok && string(v) != "null" {
		var f float64
		if json.Unmarshal(v, &f) == nil {
			o.finished = &f
		}
	}
	var results []struct {
		URL string `json:"url"`
	}
	_ = json.Unmarshal(m["results"], &results)
	for _, res := range results {
		o.results = append(o.results, res.URL)
	}
	return o
}

// checkLifecycle polls every created task to a terminal status, then judges
// what it saw.
func (r *runner) checkLifecycle(ctx context.Context) {
	noTasks := func(c *check) bool {
		if len(r.tasks) == 0 {
			c.skip("no task was created (see the create.* checks)")
			return true
		}
		return false
	}
	r.runCheck(ctx, "lifecycle.terminal", "each created task reaches COMPLETED or ERROR within the poll budget, and every poll answers 200", true, func(c *check) {
		if noTasks(c) {
			return
		}
		deadline := time.Now().Add(r.opts.PollTimeout)
		interval := r.opts.PollInterval
		for {
			pending := 0
			for _, t := range r.tasks {
				if t.done() {
					continue
				}
				r.poll(ctx, c, t)
				if !t.done() {
					pending++
				}
			}
			if pending == 0 {
				break
			}
			if time.Now().After(deadline) {
				for _, t := range r.tasks {
					if !t.done() && t.firstTerminal < 0 {
						t.timedOut = true
					}
				}
				break
			}
			select {
			case <-ctx.Done():
				c.requestFailed(ctx, ctx.Err())
				return
			case <-time.After(interval):
			}
			interval = min(interval*3/2, maxPollInterval)
		}
		for _, t := range r.tasks {
			for _, e := range t.pollErrors {
				c.fail("%s: %s", t.name(), e)
			}
			switch {
			case t.budgetOut:
			case t.timedOut:
				last := "no status"
				if n := len(t.obs); n > 0 {
					last = string(t.obs[n-1].status)
				}
				c.fail("%s still %s after %s (seen: %s)%s", t.name(), last, r.opts.PollTimeout, t.statuses(), unknownStatusNote(last))
			case t.firstTerminal < 0:
				c.fail("%s never answered with a terminal status (seen: %s)", t.name(), t.statuses())
			case t.obs[t.firstTerminal].status == task.StatusError:
				c.warn("%s ended in ERROR although its request was valid (seen: %s)", t.name(), t.statuses())
			default:
				c.note("%s: %s", t.name(), t.statuses())
			}
		}
	})
	r.runCheck(ctx, "lifecycle.order", "the statuses seen follow the lifecycle (repeats and unobserved steps allowed; nothing after COMPLETED or ERROR)", true, func(c *check) {
		if noTasks(c) {
			return
		}
		for _, t := range r.tasks {
			for i, o := range t.obs {
				if !o.status.Valid() {
					c.fail("%s: status %q is not one of the seven statuses", t.name(), o.status)
					continue
				}
				if i == 0 {
					continue
				}
				prev := t.obs[i-1].status
				if prev == o.status || !prev.Valid() {
					continue
				}
				if !reachable(prev, o.status) {
					c.fail("%s: %s after %s is not a legal lifecycle move (seen: %s)", t.name(), o.status, prev, t.statuses())
				}
			}
		}
	})
	r.runCheck(ctx, "lifecycle.times", "created is present and stable; finished appears only on COMPLETED/ERROR and is >= created (seconds or milliseconds)", true, func(c *check) {
		if noTasks(c) {
			return
		}
		for _, t := range r.tasks {
			var created *float64
			var finished *float64
			for _, o := range t.obs {
				if o.created == nil {
					c.fail("%s: %s answer has no numeric created: %s", t.name(), o.status, clip(o.raw))
					continue
				}
				if created == nil {
					created = o.created
					if d := time.Since(unixTime(*created)); d > 24*time.Hour || d < -24*time.Hour {
						c.warn("%s: created %v is %s away from this machine's clock", t.name(), *created, d.Round(time.Second))
					}
				} else if *o.created != *created {
					c.fail("%s: created changed from %v to %v", t.name(), *created, *o.created)
				}
				switch {
				case o.finished != nil && !o.status.Terminal():
					c.fail("%s: finished %v set on non-terminal status %s", t.name(), *o.finished, o.status)
				case o.finished == nil && o.status.Terminal():
					c.warn("%s: no finished on terminal status %s", t.name(), o.status)
				case o.finished != nil:
					if unixTime(*o.finished).Before(unixTime(*o.created)) {
						c.fail("%s: finished %v is before created %v", t.name(), *o.finished, *o.created)
					}
					if finished != nil && *finished != *o.finished {
						c.fail("%s: finished changed from %v to %v", t.name(), *finished, *o.finished)
					}
					finished = o.finished
				}
			}
		}
	})
	r.runCheck(ctx, "lifecycle.fields", "create hands out distinct ids; each answer echoes the task id and names a model", true, func(c *check) {
		if noTasks(c) {
			return
		}
		ids := map[string]string{}
		for _, t := range r.tasks {
			if other, dup := ids[t.id]; dup {
				c.fail("create handed out id %s twice (%s and %s)", t.id, other, t.label)
			}
			ids[t.id] = t.label
		}
		for _, t := range r.tasks {
			warnedModel := false
			for _, o := range t.obs {
				if !o.decodeOK {
					c.fail("%s: answer is not a JSON object: %s", t.name(), clip(o.raw))
					continue
				}
				if o.id != t.id {
					c.fail("%s: answer carries id %q", t.name(), o.id)
				}
				if o.model == "" {
					c.fail("%s: answer has an empty model", t.name())
				} else if t.model != "" && o.model != t.model && !warnedModel {
					warnedModel = true
					c.warn("%s: model %q, asked for %q", t.name(), o.model, t.model)
				}
			}
		}
	})
	r.runCheck(ctx, "lifecycle.results", "results is empty until COMPLETED; a COMPLETED task has >= 1 result with a url, and keeps the same files (a link's query, such as a signature and expiry, may be renewed)", true, func(c *check) {
		if noTasks(c) {
			return
		}
		for _, t := range r.tasks {
			var first []string
			for _, o := range t.obs {
				if o.status != task.StatusCompleted {
					if len(o.results) > 0 {
						c.fail("%s: %d results on status %s", t.name(), len(o.results), o.status)
					}
					continue
				}
				if len(o.results) == 0 {
					c.fail("%s: COMPLETED with no results", t.name())
					continue
				}
				files := make([]string, len(o.results))
				parsed := true
				for i, u := range o.results {
					ref, err := r.base.Parse(u)
					if err != nil || u == "" {
						c.fail("%s: result %d has url %q, not a URL", t.name(), i, u)
						parsed = false
						continue
					}
					files[i] = resultFile(ref)
				}
				switch {
				case !parsed:
				case first == nil:
					first = files
				case !slices.Equal(first, files):
					c.fail("%s: results changed after COMPLETED: %q, then %q", t.name(), first, files)
				}
			}
		}
	})
}

// resultFile names the file a result link points at: the link without its
// query, fragment and user information. Capability links (speechd's, or a
// presigned object-store URL) carry an expiry and a signature in the query
// and are renewed as they near expiry, so the same file may be served under
// a new query from one poll to the next; the file itself must not change
// once a task is COMPLETED. A renewed link is therefore also downloaded, and
// must serve the same bytes as the first (results.audio): a server whose
// query names the file cannot swap files unseen.
func resultFile(u *url.URL) string {
	v := *u
	v.User, v.RawQuery, v.ForceQuery, v.Fragment, v.RawFragment = nil, "", false, "", ""
	return v.String()
}

// reachable reports whether the lifecycle can lead from one status to
// another in one or more moves: a poll may miss intermediate statuses.
func reachable(from, to task.Status) bool {
	seen := map[task.Status]bool{from: true}
	queue := []task.Status{from}
	for len(queue) > 0 {
		s := queue[0]
		queue = queue[1:]
		for _, next := range task.AllStatuses() {
			if !task.CanTransition(s, next) {
				continue
			}
			if next == to {
				return true
			}
			if !seen[next] {
				seen[next] = true
				queue = append(queue, next)
			}
		}
	}
	return false
}

// unixTime reads an API time: seconds, or milliseconds when the value is too
// large to be seconds (the vendor states no unit).
func unixTime(v float64) time.Time {
	if v > 1e11 {
		return time.UnixMilli(int64(v))
	}
	sec := int64(v)
	return time.Unix(sec, int64((v-float64(sec))*1e9))
}

// checkAudio downloads the results of completed tasks.
func (r *runner) checkAudio(ctx context.Context) {
	r.runCheck(ctx, "results.audio", "every result URL of a COMPLETED task downloads audio (RIFF/WAVE or an audio/* content type), without the API key; a renewed link serves the same bytes", true, func(c *check) {
		n := 0
		for _, t := range r.tasks {
			if t.firstTerminal < 0 || t.obs[t.firstTerminal].status != task.StatusCompleted {
				continue
			}
			// The last COMPLETED answer, whose links may be renewed ones.
			last := t.obs[t.firstTerminal].results
			for _, o := range t.obs[t.firstTerminal:] {
				if o.status == task.StatusCompleted {
					last = o.results
				}
			}
			for i, u := range t.obs[t.firstTerminal].results {
				if i >= 3 {
					break // a few files prove the point; the rest cost requests
				}
				n++
				sum, err := r.download(ctx, u)
				if err == nil && i < len(last) && last[i] != u {
					n++
					var again [sha256.Size]byte
					if again, err = r.download(ctx, last[i]); err == nil && again != sum {
						err = errors.New("its renewed link serves other bytes than the first: results changed after COMPLETED")
					}
				}
				if err != nil {
					if isBudget(err) || ctx.Err() != nil {
						c.requestFailed(ctx, err)
						return
					}
					c.fail("%s result %d: %v", t.name(), i, err)
				}
			}
		}
		if n == 0 {
			c.skip("no task COMPLETED (see lifecycle.terminal)")
		} else {
			c.note("result files downloaded: %d", n)
		}
	})
}

// maxDownload bounds the bytes of one result file the suite reads (and
// hashes): 900 s of 16 kHz 16-bit audio is under 30 MB.
const maxDownload = 64 << 20

// download fetches a result link without the API key, checks that it is
// audio, and returns the SHA-256 of its first maxDownload bytes.
func (r *runner) download(ctx context.Context, raw string) ([sha256.Size]byte, error) {
	var sum [sha256.Size]byte
	u, err := r.base.Parse(raw)
	if err != nil {
		return sum, fmt.Errorf("url %q: %w", raw, err)
	}
	if err := r.take(); err != nil {
		return sum, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return sum, fmt.Errorf("GET %s: %w", redact(u), err)
	}
	resp, err := r.opts.HTTPClient.Do(req)
	if err != nil {
		return sum, fmt.Errorf("GET %s: %w", redact(u), err)
	}
	defer resp.Body.Close()
	head := make([]byte, 12)
	n, err := io.ReadFull(resp.Body, head)
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
		return sum, fmt.Errorf("GET %s: read: %w", redact(u), err)
	}
	head = head[:n]
	if resp.StatusCode != http.StatusOK {
		return sum, fmt.Errorf("GET %s: got %d, want 200", redact(u), resp.StatusCode)
	}
	ct, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	isWAV := len(head) == 12 && bytes.Equal(head[:4], []byte("RIFF")) && bytes.Equal(head[8:12], []byte("WAVE"))
	if !isWAV && !strings.HasPrefix(ct, "audio/") {
		return sum, fmt.Errorf("GET %s: Content-Type %q and body starting %q: not audio", redact(u), resp.Header.Get("Content-Type"), head)
	}
	if len(head) == 0 {
		return sum, fmt.Errorf("GET %s: empty body", redact(u))
	}
	h := sha256.New()
	h.Write(head)
	if _, err := io.CopyN(h, resp.Body, maxDownload-int64(len(head))); err != nil && !errors.Is(err, io.EOF) {
		return sum, fmt.Errorf("GET %s: read: %w", redact(u), err)
	}
	h.Sum(sum[:0])
	return sum, nil
}

// redact drops the query of a result URL (its signature) and any user
// information (a password) from messages.
func redact(u *url.URL) string {
	c := *u
	c.User = nil
	if c.RawQuery != "" {
		c.RawQuery = "…"
	}
	return c.String()
}

// unknownStatusNote explains a wait that ended on a status the suite does
// not know: a server on a newer contract may report one, and the suite
// cannot tell whether it is final.
func unknownStatusNote(status string) string {
	if status == "no status" || task.Status(status).Valid() {
		return ""
	}
	return fmt.Sprintf("; %q is not one of the seven statuses, so the suite cannot tell whether it is terminal (a newer contract? see `speech spec diff`)", status)
}
