// Package openai forwards synthesis to any server that speaks OpenAI's
// POST /v1/audio/speech: a self-hosted Chatterbox or Kokoro server, OpenAI
// itself, or the vendor's own synchronous endpoint. The answer may be the
// audio bytes or, in the vendor's synchronous form, a JSON list of {"url"}
// objects whose audio the engine downloads.
package openai

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/distributeai/asyncspeech/api/engine"
	"github.com/distributeai/asyncspeech/internal/retry"
)

// Defaults for Options fields left zero.
const (
	DefaultModel          = "tts-1"
	DefaultResponseFormat = "wav"
	DefaultTimeout        = 60 * time.Second
	DefaultMaxAttempts    = 3
	DefaultBackoff        = 500 * time.Millisecond
	DefaultMaxBackoff     = 10 * time.Second
	DefaultMaxAudioBytes  = 64 << 20
)

// Options configure the engine.
type Options struct {
	// BaseURL is the server's root; the engine posts to {BaseURL}/v1/audio/speech.
	// A BaseURL that already ends in /v1 is accepted too.
	BaseURL string
	// APIKey, if set, is sent as "Authorization: Bearer <key>" to the base
	// URL's host only, never to other hosts the JSON form points at.
	APIKey string
	// RawKey sends "Authorization: <key>" without "Bearer ", as the vendor's
	// own examples do.
	RawKey bool
	// Model is the upstream model name sent for the API's "Chatterbox" model
	// (e.g. "chatterbox", "kokoro", "tts-1").
	Model string
	// Voices maps API voices (leo, nora, uploaded ids) to upstream voice
	// names; a voice without an entry is sent unchanged.
	Voices map[string]string
	// ResponseFormat is the requested audio format (default wav).
	ResponseFormat string
	// OmitProsody stops sending temperature, exaggeration and cfg_weight,
	// for servers that reject fields OpenAI does not define.
	OmitProsody bool
	// Timeout bounds each HTTP attempt (request and download).
	Timeout time.Duration
	// MaxAttempts bounds tries per HTTP call on network errors, 408, 429 and 5xx.
	MaxAttempts int
	// Backoff is the first backoff window; it doubles up to MaxBackoff and
	// each wait is drawn uniformly from it (full jitter, internal/retry). A
	// Retry-After longer than MaxBackoff ends the retries at once with
	// engine.ErrUnavailable, so the task is postponed instead of holding a
	// worker.
	Backoff, MaxBackoff time.Duration
	// MaxAudioBytes bounds a response body.
	MaxAudioBytes int64
	// Client is the HTTP client (default: a new http.Client).
	Client *http.Client
}

// Engine calls an OpenAI-compatible speech server. It is safe for concurrent use.
type Engine struct {
	opts     Options
	endpoint *url.URL
	// retry repeats failed calls; tests replace its Sleep to observe the
	// waits.
	retry retry.Policy
}

var _ engine.Engine = (*Engine)(nil)

// New checks opts and returns an engine. It makes no network call.
func New(opts Options) (*Engine, error) {
	base, err := url.Parse(opts.BaseURL)
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" {
		return nil, fmt.Errorf("openai: base URL %q: want an absolute http or https URL (err: %v)", opts.BaseURL, err)
	}
	path := strings.TrimSuffix(base.Path, "/")
	path = strings.TrimSuffix(path, "/v1")
	endpoint := *base
	endpoint.Path = path + "/v1/audio/speech"
	endpoint.RawPath = ""
	if opts.Model == "" {
		opts.Model = DefaultModel
	}
	if opts.ResponseFormat == "" {
		opts.ResponseFormat = DefaultResponseFormat
	}
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	if opts.MaxAttempts <= 0 {
		opts.MaxAttempts = DefaultMaxAttempts
	}
	if opts.Backoff <= 0 {
		opts.Backoff = DefaultBackoff
	}
	if opts.MaxBackoff <= 0 {
		opts.MaxBackoff = DefaultMaxBackoff
	}
	if opts.MaxAudioBytes <= 0 {
		opts.MaxAudioBytes = DefaultMaxAudioBytes
	}
	if opts.Client == nil {
		opts.Client = &http.Client{}
	}
	policy := retry.Policy{
		MaxAttempts:   opts.MaxAttempts,
		MinBackoff:    opts.Backoff,
		MaxBackoff:    opts.MaxBackoff,
		MaxRetryAfter: opts.MaxBackoff,
	}
	return &Engine{opts: opts, endpoint: &endpoint, retry: policy}, nil
}

// Name is "openai".
func (e *Engine) Name() string { return "openai" }

// Endpoint is the URL the engine posts to.
func (e *Engine) Endpoint() string { return e.endpoint.String() }

type speechRequest struct {
	Model          string   `json:"model"`
	Input          string   `json:"input"`
	Voice          string   `json:"voice"`
	ResponseFormat string   `json:"response_format"`
	Temperature    *float64 `json:"temperature,omitempty"`
	Exaggeration   *float64 `json:"exaggeration,omitempty"`
	CfgWeight      *float64 `json:"cfg_weight,omitempty"`
}

// Synthesize posts the request and returns the audio, downloading it when
// the server answers with a JSON list of URLs. Network errors, timeouts,
// 408, 429 and 5xx that persist through the retries wrap
// engine.ErrUnavailable; other 4xx answers and unusable bodies are permanent.
func (e *Engine) Synthesize(ctx context.Context, req engine.Request) (engine.Audio, error) {
	voice := req.Voice
	if voice == "" {
		voice = "leo"
	}
	if v, ok := e.opts.Voices[voice]; ok {
		voice = v
	}
	// The upstream is another program that reads the text: it gets it with
	// the control characters an engine could read as commands removed, as
	// every engine does (engine.SanitizeText).
	body := speechRequest{Model: e.opts.Model, Input: engine.SanitizeText(req.Text), Voice: voice, ResponseFormat: e.opts.ResponseFormat}
	if !e.opts.OmitProsody {
		body.Temperature, body.Exaggeration, body.CfgWeight = &req.Temperature, &req.Exaggeration, &req.CfgWeight
	}
	payload, err := json.Marshal(body)
	if err != nil {
		return engine.Audio{}, fmt.Errorf("openai: encoding request: %w", err)
	}
	resp, err := e.do(ctx, http.MethodPost, e.endpoint, payload)
	if err != nil {
		return engine.Audio{}, err
	}
	if isJSON(resp.contentType) {
		return e.download(ctx, resp.body)
	}
	return audioFrom(e.endpoint, resp)
}

// download fetches the audio of the vendor's synchronous JSON form,
// [{"url": ...}, ...]; several WAV parts are joined into one file
// (engine.JoinWAV).
func (e *Engine) download(ctx context.Context, body []byte) (engine.Audio, error) {
	var items []struct {
		URL string `json:"url"`
	}
	if err := json.Unmarshal(body, &items); err != nil {
		return engine.Audio{}, fmt.Errorf("openai: JSON answer from %s is not a list of {url}: %w (body %q)", e.endpoint, err, snippet(body))
	}
	if len(items) == 0 {
		return engine.Audio{}, fmt.Errorf("openai: JSON answer from %s lists no audio URLs", e.endpoint)
	}
	parts := make([]engine.Audio, 0, len(items))
	for i, it := range items {
		u, err := e.endpoint.Parse(it.URL)
		if err != nil || it.URL == "" || (u.Scheme != "http" && u.Scheme != "https") {
			return engine.Audio{}, fmt.Errorf("openai: audio URL %d %q from %s: want an http(s) URL (err: %v)", i, it.URL, e.endpoint, err)
		}
		resp, err := e.do(ctx, http.MethodGet, u, nil)
		if err != nil {
			return engine.Audio{}, err
		}
		a, err := audioFrom(u, resp)
		if err != nil {
			return engine.Audio{}, err
		}
		parts = append(parts, a)
	}
	if len(parts) == 1 {
		return parts[0], nil
	}
	a, err := engine.JoinWAV(parts)
	if err != nil {
		return engine.Audio{}, fmt.Errorf("openai: %w", err)
	}
	return a, nil
}

type response struct {
	contentType string
	body        []byte
}

// do runs one HTTP call under the retry policy. Synthesis changes nothing
// upstream, so the POST is as safe to repeat as the GETs of its audio:
// every call is idempotent for internal/retry. Failures that persist wrap
// engine.ErrUnavailable, so the worker postpones the task.
func (e *Engine) do(ctx context.Context, method string, u *url.URL, payload []byte) (response, error) {
	var resp response
	out := e.retry.Do(ctx, func(int) retry.Result {
		var r retry.Result
		resp, r = e.attempt(ctx, method, u, payload)
		return r
	}, nil)
	last := out.Last.Err
	switch out.Stop {
	case retry.StopSucceeded:
		return resp, nil
	case retry.StopPermanent:
		return response{}, last
	case retry.StopExhausted:
		return response{}, fmt.Errorf("openai: %s %s failed %d times, last: %w: %w", method, u.Redacted(), out.Attempts, engine.ErrUnavailable, last)
	case retry.StopRetryAfterTooLong:
		return response{}, fmt.Errorf("openai: %s %s asks to retry after %v (more than %v): %w: %w", method, u.Redacted(), out.Wait, e.opts.MaxBackoff, engine.ErrUnavailable, last)
	case retry.StopDeadline:
		// The context would end during the wait: report that now.
		return response{}, fmt.Errorf("openai: %s %s: retry in %v is past the deadline (last: %v): %w: %w", method, u.Redacted(), out.Wait, last, engine.ErrUnavailable, context.DeadlineExceeded)
	default: // StopInterrupted
		return response{}, fmt.Errorf("openai: %s %s: waiting to retry: %w: %w", method, u.Redacted(), engine.ErrUnavailable, out.WaitErr)
	}
}

// attempt makes one HTTP call bounded by Options.Timeout and says whether
// its failure is transient: a network error, an unreadable body, 408, 429
// or 5xx, unless the caller's own context has ended.
func (e *Engine) attempt(parent context.Context, method string, u *url.URL, payload []byte) (response, retry.Result) {
	ctx, cancel := context.WithTimeout(parent, e.opts.Timeout)
	defer cancel()
	var body io.Reader
	if payload != nil {
		body = bytes.NewReader(payload)
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), body)
	if err != nil {
		return response{}, retry.Result{Err: fmt.Errorf("openai: building %s %s: %w", method, u.Redacted(), err)}
	}
	if payload != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "audio/*, application/json")
	// The key is for the configured server; links it hands out may point elsewhere.
	if e.opts.APIKey != "" && u.Host == e.endpoint.Host && u.Scheme == e.endpoint.Scheme {
		if e.opts.RawKey {
			req.Header.Set("Authorization", e.opts.APIKey)
		} else {
			req.Header.Set("Authorization", "Bearer "+e.opts.APIKey)
		}
	}
	transient := func(err error) (response, retry.Result) {
		if parent.Err() != nil {
			return response{}, retry.Result{Err: fmt.Errorf("openai: %s %s: %w: %w", method, u.Redacted(), engine.ErrUnavailable, parent.Err())}
		}
		return response{}, retry.Result{Err: err, Retry: true}
	}
	resp, err := e.opts.Client.Do(req)
	if err != nil {
		return transient(fmt.Errorf("%s %s: %w", method, u.Redacted(), err))
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, e.opts.MaxAudioBytes+1))
	if err != nil {
		return transient(fmt.Errorf("%s %s: reading body: %w", method, u.Redacted(), err))
	}
	code := resp.StatusCode
	if code < 200 || code > 299 {
		err := fmt.Errorf("%s %s: status %d: %s", method, u.Redacted(), code, snippet(data))
		ra, hasRA := retry.ParseRetryAfter(resp.Header.Get("Retry-After"), time.Now())
		if !retry.RetryableStatus(true, code, hasRA) {
			return response{}, retry.Result{Err: fmt.Errorf("openai: %w", err)}
		}
		return response{}, retry.Result{Err: err, Retry: true, RetryAfter: ra, HasRetryAfter: hasRA}
	}
	if int64(len(data)) > e.opts.MaxAudioBytes {
		return response{}, retry.Result{Err: fmt.Errorf("openai: %s %s: body larger than %d bytes", method, u.Redacted(), e.opts.MaxAudioBytes)}
	}
	return response{contentType: resp.Header.Get("Content-Type"), body: data}, retry.Result{}
}

// audioFrom turns a successful body into audio, refusing bodies that are
// plainly not audio (empty, text, HTML).
func audioFrom(u *url.URL, r response) (engine.Audio, error) {
	if len(r.body) == 0 {
		return engine.Audio{}, fmt.Errorf("openai: %s answered with an empty body", u.Redacted())
	}
	mt, _, _ := mime.ParseMediaType(r.contentType)
	if len(r.body) >= 12 && string(r.body[0:4]) == "RIFF" && string(r.body[8:12]) == "WAVE" {
		return engine.Audio{ContentType: "audio/wav", Data: r.body}, nil
	}
	if strings.HasPrefix(mt, "text/") || isJSON(mt) {
		return engine.Audio{}, fmt.Errorf("openai: %s answered %s, not audio: %s", u.Redacted(), mt, snippet(r.body))
	}
	if mt == "" || mt == "application/octet-stream" {
		mt = http.DetectContentType(r.body)
	}
	return engine.Audio{ContentType: mt, Data: r.body}, nil
}

func isJSON(contentType string) bool {
	mt, _, _ := mime.ParseMediaType(contentType)
	return mt == "application/json" || strings.HasSuffix(mt, "+json")
}

func snippet(b []byte) string {
	const n = 300
	s := strings.TrimSpace(string(b))
	if len(s) > n {
		s = s[:n] + "…"
	}
	return strconv.Quote(s)
}
