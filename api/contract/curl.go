package contract

import (
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"
)

// Environment variable names a reproduction uses in place of the keys, so a
// report can be pasted into a bug report without leaking a key.
const (
	EnvAPIKey       = "DISTRIBUTE_API_KEY"
	EnvSecondAPIKey = "DISTRIBUTE_SECOND_API_KEY"
)

// sentRequest is one request as the suite sent it, kept to print a curl
// command that sends it again.
type sentRequest struct {
	seq    int // 1-based number of the request in the run
	method string
	url    string
	header http.Header
	body   []byte
	// elapsed is the time from sending to the end of the response body;
	// status the answer's status (0: no answer).
	elapsed time.Duration
	status  int
}

func (s *sentRequest) describe() string {
	return fmt.Sprintf("request #%d %s %s", s.seq, s.method, s.url)
}

// transportHeader names headers an HTTP client sets for itself (a recorded
// request holds them): curl sets its own, and passing accept-encoding on
// would make curl print a gzip body it does not decode.
var transportHeader = map[string]bool{
	"content-length": true, "accept-encoding": true, "connection": true, "host": true, "transfer-encoding": true,
}

// curlLimit is the body size above which a curl line writes a long run of
// one byte with a shell pipe instead of literally, so the 1 MiB body of
// negative.create.body.oversized stays a readable line.
const curlLimit = 64 << 10

// curlCommand renders req as a shell command that sends exactly its method,
// URL, headers and body. A header value equal to one of keys is written as
// the environment variable named beside it ("$DISTRIBUTE_API_KEY"), never
// as the key itself; the authorization header of a recording whose key was
// redacted is written the same way.
func curlCommand(method, url string, header http.Header, body []byte, keys map[string]string) string {
	var b strings.Builder
	names := make([]string, 0, len(header))
	for k := range header {
		names = append(names, k)
	}
	sort.Strings(names)
	var hs []string
	for _, k := range names {
		if transportHeader[strings.ToLower(k)] {
			continue
		}
		for _, v := range header[k] {
			if env, ok := keys[v]; ok && v != "" {
				hs = append(hs, fmt.Sprintf("-H \"%s: $%s\"", strings.ToLower(k), env))
				continue
			}
			if strings.EqualFold(k, "authorization") && v == redactedValue {
				hs = append(hs, fmt.Sprintf("-H \"%s: $%s\"", strings.ToLower(k), EnvAPIKey))
				continue
			}
			hs = append(hs, "-H "+shellQuote(strings.ToLower(k)+": "+v))
		}
	}
	pre, run, n, post, long := longRun(body)
	if long {
		// printf '%s' writes its argument byte for byte; head|tr writes
		// the run of n copies of one byte.
		fmt.Fprintf(&b, "{ printf '%%s' %s; head -c %d /dev/zero | tr '\\0' %s; printf '%%s' %s; } | ",
			shellQuote(string(pre)), n, shellQuote(string([]byte{run})), shellQuote(string(post)))
	}
	fmt.Fprintf(&b, "curl -sS -X %s %s", method, shellQuote(url))
	for _, h := range hs {
		b.WriteString(" " + h)
	}
	switch {
	case long:
		b.WriteString(" --data-binary @-")
	case body != nil:
		b.WriteString(" --data-binary " + shellQuote(string(body)))
	}
	return b.String()
}

// longRun finds, in a body over curlLimit, its longest run of one byte when
// that run makes up most of it: body = pre + n×run + post.
func longRun(body []byte) (pre []byte, run byte, n int, post []byte, ok bool) {
	if len(body) <= curlLimit {
		return nil, 0, 0, nil, false
	}
	bestStart, bestLen := 0, 0
	for i := 0; i < len(body); {
		j := i
		for j < len(body) && body[j] == body[i] {
			j++
		}
		if j-i > bestLen {
			bestStart, bestLen = i, j-i
		}
		i = j
	}
	if len(body)-bestLen > curlLimit || body[bestStart] == 0 {
		return nil, 0, 0, nil, false
	}
	return body[:bestStart], body[bestStart], bestLen, body[bestStart+bestLen:], true
}

// shellQuote quotes s for a POSIX shell: single quotes, with each single
// quote written as '\”. Every other byte, newlines and multi-byte
// characters included, stands for itself inside single quotes.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// recordingTransport wraps the suite's transport to keep every request it
// sends (for reproductions) and to time it to the end of its response body
// (for the response-time check).
type recordingTransport struct {
	next http.RoundTripper
	mu   sync.Mutex
	seq  int
	// done is called once per request, when its response body is closed or
	// the request failed.
	done func(*sentRequest)
}

func (t *recordingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	var body []byte
	if req.GetBody != nil {
		if rc, err := req.GetBody(); err == nil {
			body, _ = io.ReadAll(rc)
			_ = rc.Close()
		}
	}
	t.mu.Lock()
	t.seq++
	s := &sentRequest{seq: t.seq, method: req.Method, url: req.URL.String(), header: req.Header.Clone(), body: body}
	t.mu.Unlock()
	start := time.Now()
	resp, err := t.next.RoundTrip(req)
	if err != nil {
		s.elapsed = time.Since(start)
		t.done(s)
		return nil, err
	}
	s.status = resp.StatusCode
	resp.Body = &timedBody{ReadCloser: resp.Body, finish: func() {
		s.elapsed = time.Since(start)
		t.done(s)
	}}
	return resp, nil
}

// timedBody calls finish once, when the body is closed.
type timedBody struct {
	io.ReadCloser
	once   sync.Once
	finish func()
}

func (b *timedBody) Close() error {
	err := b.ReadCloser.Close()
	b.once.Do(b.finish)
	return err
}

// answered is recordingTransport's callback: it keeps the request for the
// check that sent it and times it.
func (r *runner) answered(s *sentRequest) {
	r.lastReq = s
	if r.cur != nil {
		r.cur.last = s
	}
	if r.opts.MaxResponseTime <= 0 {
		return
	}
	r.responses++
	r.slowest = max(r.slowest, s.elapsed)
	if s.elapsed > r.opts.MaxResponseTime {
		r.slow = append(r.slow, slowRequest{req: s, check: r.curName()})
	}
}

// keyNames maps the run's keys to the variables a reproduction names
// instead.
func (r *runner) keyNames() map[string]string {
	m := map[string]string{r.opts.APIKey: EnvAPIKey}
	if r.opts.SecondKey != "" {
		m[r.opts.SecondKey] = EnvSecondAPIKey
	}
	return m
}

func (r *runner) curl(s *sentRequest) string {
	return curlCommand(s.method, s.url, s.header, s.body, r.keyNames())
}

// curlFor renders the request post would send to op.
func (r *runner) curlFor(op *operation, contentType string, body []byte, key string) string {
	h := http.Header{}
	if contentType != "" {
		h.Set("Content-Type", contentType)
	}
	h.Set("Accept", "application/json")
	if key != "" {
		h.Set("authorization", key)
	}
	return curlCommand(op.method, r.base.JoinPath(op.path).String(), h, body, r.keyNames())
}

// responseTimeCheck judges every answer's time against
// Options.MaxResponseTime, naming each slow request and the check that sent
// it.
func (r *runner) responseTimeCheck() CheckResult {
	lim := r.opts.MaxResponseTime
	c := CheckResult{Name: "conformance.response-time", Category: "conformance", Outcome: OutcomePass,
		Description: fmt.Sprintf("every answer arrives, body included, within %s (MaxResponseTime / --max-response-time)", lim)}
	switch {
	case len(r.slow) > 0:
		c.Outcome = OutcomeFail
		for i, s := range r.slow {
			if i == maxMessages {
				c.Messages = append(c.Messages, fmt.Sprintf("... and %d more slow answers", len(r.slow)-i))
				break
			}
			answer := fmt.Sprintf("answered %d", s.req.status)
			if s.req.status == 0 {
				answer = "got no answer"
			}
			c.Messages = append(c.Messages, fmt.Sprintf("%s (in %s): %s after %s, over the %s limit",
				s.req.describe(), s.check, answer, s.req.elapsed.Round(time.Millisecond), lim))
			if cmd := r.curl(s.req); !containsString(c.Reproduce, cmd) {
				c.Reproduce = append(c.Reproduce, cmd)
			}
		}
	case r.responses == 0:
		c.Outcome = OutcomeSkip
		c.Messages = []string{"no request was answered"}
	default:
		c.Messages = []string{fmt.Sprintf("%d answers within %s (slowest %s)", r.responses, lim, r.slowest.Round(time.Millisecond))}
	}
	return c
}
