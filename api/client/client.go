package client

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"strings"

	"github.com/distributeai/asyncspeech/generated"
)

// DefaultBaseURL is the server of the vendor's contract.
const DefaultBaseURL = "https://api.distribute.ai"

// DefaultUserAgent is sent unless WithUserAgent says otherwise.
const DefaultUserAgent = "asyncspeech-go-client/1"

// Environment variables New reads when no option sets the value.
const (
	EnvAPIKey  = "DISTRIBUTE_API_KEY"
	EnvBaseURL = "DISTRIBUTE_BASE_URL"
)

// maxAPIBody bounds how much of an API response is read: the contract's
// bodies are a few hundred bytes, so anything near this is a broken server.
const maxAPIBody = 1 << 20

// Client calls the asynchronous speech API. It is safe for concurrent use.
type Client struct {
	gen        *generated.ClientWithResponses
	httpClient *http.Client
	apiKey     string
	baseURL    *url.URL
	userAgent  string
	retry      RetryPolicy
	log        *slog.Logger
	validator  *validator // nil unless WithResponseValidation
	// randN returns a uniform value in [0, n); replaced in tests to make
	// jitter predictable.
	randN func(n int64) int64
}

// Option configures a Client in New.
type Option func(*config) error

type config struct {
	apiKey, baseURL, userAgent string
	httpClient                 *http.Client
	retry                      RetryPolicy
	log                        *slog.Logger
	validate                   bool
}

// WithAPIKey sets the API key, overriding DISTRIBUTE_API_KEY. It is sent as
// the raw value of the authorization header, the vendor's documented form.
func WithAPIKey(key string) Option {
	return func(c *config) error { c.apiKey = key; return nil }
}

// WithBaseURL sets the server, overriding DISTRIBUTE_BASE_URL and the
// contract's https://api.distribute.ai. A path is kept as a prefix of the
// operation paths (e.g. http://host/speech → http://host/speech/async/speech/create).
func WithBaseURL(u string) Option {
	return func(c *config) error { c.baseURL = u; return nil }
}

// WithHTTPClient sets the HTTP client for API calls and downloads. Its
// Timeout, if any, applies to every single request, downloads included;
// prefer a context deadline.
func WithHTTPClient(hc *http.Client) Option {
	return func(c *config) error {
		if hc == nil {
			return fmt.Errorf("client.WithHTTPClient: nil *http.Client")
		}
		c.httpClient = hc
		return nil
	}
}

// WithUserAgent sets the User-Agent header of every request.
func WithUserAgent(ua string) Option {
	return func(c *config) error { c.userAgent = ua; return nil }
}

// WithRetryPolicy replaces the retry policy; zero fields keep their default.
func WithRetryPolicy(p RetryPolicy) Option {
	return func(c *config) error {
		if p.MaxAttempts < 0 || p.MinBackoff < 0 || p.MaxBackoff < 0 || p.MaxRetryAfter < 0 {
			return fmt.Errorf("client.WithRetryPolicy: negative field in %+v", p)
		}
		c.retry = p
		return nil
	}
}

// WithLogger sets where retries and polls are logged (retries at Info, polls
// at Debug). The default discards everything.
func WithLogger(l *slog.Logger) Option {
	return func(c *config) error {
		if l == nil {
			return fmt.Errorf("client.WithLogger: nil *slog.Logger")
		}
		c.log = l
		return nil
	}
}

// WithResponseValidation checks every API response (not downloads) against
// the embedded openapi.json and turns a mismatch into a *ContractError, so
// a program notices when the live service drifts from the contract. Off by
// default: it costs a schema validation per call, and a lenient client keeps
// working when the vendor adds a field.
func WithResponseValidation() Option {
	return func(c *config) error { c.validate = true; return nil }
}

// New builds a Client. Without options it reads the API key from
// DISTRIBUTE_API_KEY and the server from DISTRIBUTE_BASE_URL (default
// https://api.distribute.ai); options win over the environment.
func New(opts ...Option) (*Client, error) {
	cfg := config{}
	for _, o := range opts {
		if err := o(&cfg); err != nil {
			return nil, err
		}
	}
	if cfg.apiKey == "" {
		cfg.apiKey = os.Getenv(EnvAPIKey)
	}
	if cfg.apiKey == "" {
		return nil, ErrNoAPIKey
	}
	if cfg.baseURL == "" {
		cfg.baseURL = os.Getenv(EnvBaseURL)
	}
	if cfg.baseURL == "" {
		cfg.baseURL = DefaultBaseURL
	}
	base, err := url.Parse(cfg.baseURL)
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" {
		return nil, fmt.Errorf("client.New: base URL %q is not an absolute http(s) URL", cfg.baseURL)
	}
	if cfg.userAgent == "" {
		cfg.userAgent = DefaultUserAgent
	}
	if cfg.httpClient == nil {
		cfg.httpClient = &http.Client{}
	}
	if cfg.log == nil {
		cfg.log = slog.New(slog.DiscardHandler)
	}
	c := &Client{
		httpClient: cfg.httpClient,
		apiKey:     cfg.apiKey,
		baseURL:    base,
		userAgent:  cfg.userAgent,
		retry:      cfg.retry.withDefaults(),
		log:        cfg.log,
		randN:      rand.Int64N,
	}
	if cfg.validate {
		// The validator reads the spec parsed once per process: nothing
		// blocks, so there is no caller context to bound.
		if c.validator, err = newValidator(context.Background()); err != nil {
			return nil, err
		}
	}
	c.gen, err = generated.NewClientWithResponses(strings.TrimSuffix(base.String(), "/"),
		generated.WithHTTPClient(cfg.httpClient),
		generated.WithRequestEditorFn(c.authorize))
	if err != nil {
		return nil, fmt.Errorf("client.New: %w", err)
	}
	return c, nil
}

// BaseURL returns the server the client talks to.
func (c *Client) BaseURL() string { return c.baseURL.String() }

func (c *Client) authorize(_ context.Context, req *http.Request) error {
	req.Header.Set("Authorization", c.apiKey)
	req.Header.Set("User-Agent", c.userAgent)
	return nil
}

// CreateParams are the inputs of a speech task. Only Input is required;
// nil pointers and empty strings leave the server's default in place.
type CreateParams struct {
	// Input is the text to speak: 2 to 4096 characters.
	Input string
	// Model defaults to ModelChatterbox.
	Model Model
	// Voice is VoiceLeo (the server default), VoiceNora or the file_id of an
	// uploaded voice.
	Voice string
	// Stream asks the server for streaming output; false is the default.
	Stream bool
	// Temperature, Exaggeration and CfgWeight are in [0, 1]; the server's
	// defaults are 0.8, 0.5 and 0.5. Go 1.26 writes them as new(0.7).
	Temperature  *float64
	Exaggeration *float64
	CfgWeight    *float64
}

func (p CreateParams) body() (generated.AsyncSpeechCreateJSONRequestBody, error) {
	model := p.Model
	if model == "" {
		model = ModelChatterbox
	}
	b := generated.AsyncSpeechCreateJSONRequestBody{
		Input:        p.Input,
		Model:        generated.AsyncSpeechCreateJSONBodyModel(model),
		Temperature:  p.Temperature,
		Exaggeration: p.Exaggeration,
		CfgWeight:    p.CfgWeight,
	}
	if p.Stream {
		b.Stream = &p.Stream
	}
	if p.Voice != "" {
		var v generated.AsyncSpeechCreateJSONBody_Voice
		if err := v.FromAsyncSpeechCreateJSONBodyVoice1(p.Voice); err != nil {
			return b, fmt.Errorf("encode voice %q: %w", p.Voice, err)
		}
		b.Voice = &v
	}
	return b, nil
}

// Create queues a speech task and returns its id. The call is not
// idempotent: each accepted request is a new (billed) task. It is therefore
// retried only when the server provably did not receive or did not act on
// it: a connection that could not be opened (DNS, refused, unreachable), or
// a 429/503 carrying Retry-After. A timeout, a reset connection, a 500, 502
// or 504 may hide a queued task and is returned to the caller instead.
func (c *Client) Create(ctx context.Context, p CreateParams) (string, error) {
	body, err := p.body()
	if err != nil {
		return "", fmt.Errorf("create: %w", err)
	}
	resp, data, err := c.call(ctx, opCreate, "", func(ctx context.Context) (*http.Response, error) {
		return c.gen.AsyncSpeechCreate(ctx, body)
	})
	if err != nil {
		return "", err
	}
	var out generated.AsyncSpeechCreate200JSONResponseBody
	if err := json.Unmarshal(data, &out); err != nil {
		return "", fmt.Errorf("create: decode HTTP %d body: %w", resp.StatusCode, err)
	}
	if out.Id == "" {
		return "", fmt.Errorf("create: HTTP %d body has no id", resp.StatusCode)
	}
	return out.Id, nil
}

// Result reads a task's status and, once COMPLETED, its result URLs. It is
// a read, so network errors, 429 and 5xx are retried under the policy. A
// task that does not exist (or belongs to another key) gives an *APIError
// that matches ErrNotFound.
func (c *Client) Result(ctx context.Context, id string) (*Task, error) {
	resp, data, err := c.call(ctx, opResult, id, func(ctx context.Context) (*http.Response, error) {
		return c.gen.AsyncSpeechResult(ctx, generated.AsyncSpeechResultJSONRequestBody{Id: id})
	})
	if err != nil {
		return nil, err // names the operation and the task already
	}
	var out generated.AsyncSpeechResult200JSONResponseBody
	if err := json.Unmarshal(data, &out); err != nil {
		return nil, fmt.Errorf("result of task %s: decode HTTP %d body: %w", id, resp.StatusCode, err)
	}
	task := taskFromGenerated(&out)
	task.Extra = extraFields(data)
	return task, nil
}
