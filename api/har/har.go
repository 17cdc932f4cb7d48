// Package har records HTTP exchanges as HAR 1.2 (the HTTP Archive format
// browsers and tools such as wiretap and Schemathesis read) and reads them
// back. speech proxy --har records the traffic passing through it;
// speech contract --replay re-checks a recording against the spec offline.
//
// Credentials never reach a recording: the values of the headers that carry
// them (authorization, cookies, API-key headers) are replaced by Redacted.
package har

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/distributeai/asyncspeech/internal/respwriter"
)

// Version is the HAR version this package writes and reads.
const Version = "1.2"

// Redacted replaces the value of every credential header in a recording.
const Redacted = "REDACTED"

// sensitive names the headers whose values are redacted (lower case).
var sensitive = map[string]bool{
	"authorization": true, "proxy-authorization": true, "cookie": true, "set-cookie": true,
	"x-api-key": true, "api-key": true,
}

// File is a HAR document: {"log": ...}.
type File struct {
	Log Log `json:"log"`
}

// Log is the HAR log object.
type Log struct {
	Version string  `json:"version"`
	Creator Creator `json:"creator"`
	Entries []Entry `json:"entries"`
}

// Creator names the program that wrote the log.
type Creator struct {
	Name    string `json:"name"`
	Version string `json:"version"`
}

// Entry is one exchange.
type Entry struct {
	StartedDateTime string   `json:"startedDateTime"`
	Time            float64  `json:"time"` // milliseconds, request sent to response received
	Request         Request  `json:"request"`
	Response        Response `json:"response"`
	Cache           struct{} `json:"cache"`
	Timings         Timings  `json:"timings"`
	// RequestID is the exchange's X-Request-Id (a HAR custom field).
	RequestID string `json:"_requestId,omitempty"`
}

// Request is an entry's request.
type Request struct {
	Method      string    `json:"method"`
	URL         string    `json:"url"`
	HTTPVersion string    `json:"httpVersion"`
	Cookies     []Cookie  `json:"cookies"`
	Headers     []Header  `json:"headers"`
	QueryString []Header  `json:"queryString"`
	PostData    *PostData `json:"postData,omitempty"`
	HeadersSize int       `json:"headersSize"`
	BodySize    int       `json:"bodySize"`
}

// Response is an entry's response.
type Response struct {
	Status      int      `json:"status"`
	StatusText  string   `json:"statusText"`
	HTTPVersion string   `json:"httpVersion"`
	Cookies     []Cookie `json:"cookies"`
	Headers     []Header `json:"headers"`
	Content     Content  `json:"content"`
	RedirectURL string   `json:"redirectURL"`
	HeadersSize int      `json:"headersSize"`
	BodySize    int      `json:"bodySize"`
}

// Header is a name/value pair (headers and query parameters).
type Header struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// Cookie is a HAR cookie; recordings keep none (cookie headers are
// redacted).
type Cookie struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// PostData is a request body.
type PostData struct {
	MimeType string `json:"mimeType"`
	Text     string `json:"text"`
}

// Content is a response body: text as is, or base64 when it is not UTF-8.
type Content struct {
	Size     int    `json:"size"`
	MimeType string `json:"mimeType"`
	Text     string `json:"text"`
	Encoding string `json:"encoding,omitempty"`
}

// Timings splits Entry.Time; the recorder knows only the total, so send and
// receive are 0 and wait holds it.
type Timings struct {
	Send    float64 `json:"send"`
	Wait    float64 `json:"wait"`
	Receive float64 `json:"receive"`
}

// Headers converts HAR headers back to an http.Header.
func Headers(hs []Header) http.Header {
	h := http.Header{}
	for _, kv := range hs {
		h.Add(kv.Name, kv.Value)
	}
	return h
}

// redactedHeaders converts h to HAR headers, sorted by name, with every
// credential value replaced by Redacted.
func redactedHeaders(h http.Header) []Header {
	out := []Header{}
	for name, vals := range h {
		for _, v := range vals {
			if sensitive[strings.ToLower(name)] {
				v = Redacted
			}
			out = append(out, Header{Name: name, Value: v})
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// RequestBody returns the entry's request body (nil without one).
func (e *Entry) RequestBody() []byte {
	if e.Request.PostData == nil {
		return nil
	}
	return []byte(e.Request.PostData.Text)
}

// ResponseBody returns the entry's response body, decoding base64.
func (e *Entry) ResponseBody() ([]byte, error) {
	c := e.Response.Content
	if c.Encoding == "base64" {
		b, err := base64.StdEncoding.DecodeString(c.Text)
		if err != nil {
			return nil, fmt.Errorf("har: response content of %s %s: %w", e.Request.Method, e.Request.URL, err)
		}
		return b, nil
	}
	return []byte(c.Text), nil
}

// Started parses StartedDateTime (zero time if it does not parse).
func (e *Entry) Started() time.Time {
	t, _ := time.Parse(time.RFC3339Nano, e.StartedDateTime)
	return t
}

// Read decodes a HAR document and checks its version.
func Read(r io.Reader) (*File, error) {
	var f File
	dec := json.NewDecoder(r)
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("har: decode: %w", err)
	}
	if f.Log.Version == "" {
		return nil, errors.New("har: no log.version: not a HAR document")
	}
	if !strings.HasPrefix(f.Log.Version, "1.") {
		return nil, fmt.Errorf("har: log.version %q: want 1.x", f.Log.Version)
	}
	return &f, nil
}

// ReadFile reads the HAR document at path.
func ReadFile(path string) (*File, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("har: %w", err)
	}
	defer fh.Close()
	f, err := Read(fh)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return f, nil
}

// Recorder collects entries; it is safe for concurrent use.
type Recorder struct {
	creator Creator
	mu      sync.Mutex
	entries []Entry
}

// NewRecorder returns an empty recorder; creator names the recording program.
func NewRecorder(creatorName, creatorVersion string) *Recorder {
	return &Recorder{creator: Creator{Name: creatorName, Version: creatorVersion}}
}

// Len returns the number of entries recorded so far.
func (rec *Recorder) Len() int {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return len(rec.entries)
}

// File returns a snapshot of the recording, entries in the order their
// exchanges finished.
func (rec *Recorder) File() *File {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return &File{Log: Log{Version: Version, Creator: rec.creator, Entries: append([]Entry{}, rec.entries...)}}
}

// WriteTo writes the recording as indented JSON.
func (rec *Recorder) WriteTo(w io.Writer) (int64, error) {
	b, err := json.MarshalIndent(rec.File(), "", "  ")
	if err != nil {
		return 0, fmt.Errorf("har: encode: %w", err)
	}
	n, err := w.Write(append(b, '\n'))
	return int64(n), err
}

// WriteFile writes the recording to path, atomically (a temporary file in
// the same directory, renamed), so a reader never sees half a document.
func (rec *Recorder) WriteFile(path string) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".har-*")
	if err != nil {
		return fmt.Errorf("har: write %s: %w", path, err)
	}
	if _, err := rec.WriteTo(tmp); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return fmt.Errorf("har: write %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("har: write %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("har: write %s: %w", path, err)
	}
	return nil
}

// Add records one exchange: the request as the client sent it (body
// included) and the response as the client received it.
func (rec *Recorder) Add(started time.Time, elapsed time.Duration, req *http.Request, reqBody []byte, status int, respHeader http.Header, respBody []byte) {
	scheme := "http"
	if req.TLS != nil {
		scheme = "https"
	}
	u := *req.URL
	if u.Host == "" {
		u.Scheme, u.Host = scheme, req.Host
	}
	e := Entry{
		StartedDateTime: started.UTC().Format(time.RFC3339Nano),
		Time:            float64(elapsed.Microseconds()) / 1000,
		Request: Request{
			Method: req.Method, URL: u.String(), HTTPVersion: req.Proto,
			Cookies: []Cookie{}, Headers: redactedHeaders(req.Header), QueryString: []Header{},
			HeadersSize: -1, BodySize: len(reqBody),
		},
		Response: Response{
			Status: status, StatusText: http.StatusText(status), HTTPVersion: req.Proto,
			Cookies: []Cookie{}, Headers: redactedHeaders(respHeader),
			Content:     Content{Size: len(respBody), MimeType: respHeader.Get("Content-Type")},
			HeadersSize: -1, BodySize: len(respBody),
		},
		Timings:   Timings{Wait: float64(elapsed.Microseconds()) / 1000},
		RequestID: respHeader.Get("X-Request-Id"),
	}
	for k, vs := range u.Query() {
		for _, v := range vs {
			e.Request.QueryString = append(e.Request.QueryString, Header{Name: k, Value: v})
		}
	}
	sort.SliceStable(e.Request.QueryString, func(i, j int) bool { return e.Request.QueryString[i].Name < e.Request.QueryString[j].Name })
	if reqBody != nil {
		e.Request.PostData = &PostData{MimeType: req.Header.Get("Content-Type"), Text: string(reqBody)}
	}
	if utf8.Valid(respBody) {
		e.Response.Content.Text = string(respBody)
	} else {
		e.Response.Content.Text = base64.StdEncoding.EncodeToString(respBody)
		e.Response.Content.Encoding = "base64"
	}
	rec.mu.Lock()
	rec.entries = append(rec.entries, e)
	rec.mu.Unlock()
}

// Middleware records every exchange that passes through next. The request
// body is read in full first (next reads a copy), the response is recorded
// as next wrote it.
func (rec *Recorder) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		var body []byte
		if r.Body != nil && r.Body != http.NoBody {
			b, err := io.ReadAll(r.Body)
			_ = r.Body.Close()
			if err != nil {
				http.Error(w, "request body could not be read", http.StatusBadRequest)
				return
			}
			body = b
			r.Body = io.NopCloser(bytes.NewReader(b))
		}
		var sent bytes.Buffer
		cw := respwriter.NewCopying(w, &sent)
		next.ServeHTTP(cw, r)
		rec.Add(start, time.Since(start), r, body, cw.Status(), w.Header().Clone(), sent.Bytes())
	})
}
