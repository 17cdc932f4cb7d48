// Package validate checks HTTP traffic against the embedded OpenAPI document
// at run time: every request before it reaches the wrapped handler, and every
// response before it reaches the client. It wraps any http.Handler, so the
// reference server and the contract harness's proxy share one validator; its
// standalone CheckResponse is the response check of the contract suite and
// of the client's WithResponseValidation. It owns the one list of extension
// statuses (ExtensionStatuses).
//
// Routes are resolved once, when the Validator is built: each operation of
// the document is indexed by method and path, so a request costs a map
// lookup, not a router walk. kin-openapi compiles each schema pattern once
// per process and caches it.
package validate

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"

	asyncspeech "github.com/distributeai/asyncspeech"
	"github.com/distributeai/asyncspeech/api/apierr"
)

// shallowCopy returns a copy of doc without servers and security
// requirements that shares everything else with doc, which stays untouched.
func shallowCopy(doc *openapi3.T) *openapi3.T {
	c := *doc
	c.Servers = nil
	c.Security = nil
	return &c
}

// Options configure a Validator.
type Options struct {
	// Doc is the OpenAPI document to validate against. Nil means the
	// module's embedded openapi.json, parsed once per process
	// (asyncspeech.Spec). The Validator never modifies the document: it
	// validates against shallow copies without servers (host matching would
	// reject every request) and security requirements (auth is checked
	// elsewhere), so a shared document may be passed.
	Doc *openapi3.T
	// Strict replaces a response that violates the document with a 500
	// {"message"}. Off, violations are only logged and the response passes.
	Strict bool
	// ExtensionStatuses are statuses a response may carry although the
	// operation does not document them (this module's servers send those of
	// the package function ExtensionStatuses). Such a response must still be
	// a JSON {"message"}.
	ExtensionStatuses []int
	// IgnoreUndocumentedStatuses lets a response whose status is neither
	// documented nor an extension pass unchecked, for a client that leaves
	// such statuses (401, 429, 502...) to its transport and retry loop.
	IgnoreUndocumentedStatuses bool
	// ForwardInvalidRequests passes requests that violate the document on to
	// the wrapped handler (after logging them) instead of answering 400, for
	// a proxy that wants to see how an upstream reacts to bad input.
	ForwardInvalidRequests bool
	// PassUnknownRoutes hands requests for paths the document does not
	// describe (a proxy's /results/ downloads, say) to the wrapped handler
	// unvalidated, instead of answering 404/405 {"message"}.
	PassUnknownRoutes bool
	// Logger receives violations. Nil means slog.Default().
	Logger *slog.Logger
	// MaxConcurrent bounds how many request bodies Middleware validates at
	// once (kin-openapi decodes each into generic maps, so this bounds the
	// memory all of them take together). 0 means DefaultMaxConcurrent.
	MaxConcurrent int
	// MaxWait is how long a request waits for a validation slot before it
	// is answered 503 with Retry-After. 0 means DefaultMaxWait.
	MaxWait time.Duration
	// Verdicts is how many passes of byte-identical requests and responses
	// Middleware remembers and reuses instead of validating the same bytes
	// again (verdicts.go). 0 means DefaultVerdicts; negative turns reuse off.
	Verdicts int
}

// Defaults of Options.MaxConcurrent and Options.MaxWait.
var (
	DefaultMaxConcurrent = 4 * runtime.GOMAXPROCS(0)
)

// DefaultMaxWait is how long a request waits for a validation slot by default.
const DefaultMaxWait = 2 * time.Second

// Validator validates requests and responses of the operations of one
// OpenAPI document. It is safe for concurrent use.
type Validator struct {
	doc     *openapi3.T
	routes  map[string]*routers.Route // "METHOD /path" → route
	methods map[string][]string       // "/path" → documented methods
	filter  *openapi3filter.Options
	strict  bool
	forward bool
	passAll bool
	lenient bool
	ext     map[int]bool
	log     *slog.Logger
	slots   chan struct{}
	maxWait time.Duration
	// verdicts remembers passes of byte-identical input (nil: off).
	verdicts *verdicts
	// recorders are reused between responses: a recorder's header map and
	// body buffer would otherwise be allocated for every request.
	recorders sync.Pool
}

// ExtensionStatuses are the statuses this module's servers may send beyond
// those the spec documents for an operation, each with a {"message"} body
// (see docs/server.md): 400 on the result call for a malformed id (the spec
// documents 400 for create only), 401 for a missing or unknown key, 413 for
// a body over the limit, 415 for a non-JSON content type, 429 for a key over
// its rate, 503 while shutting down or when the store fails. The server, the
// proxy and the contract suite all use this one list.
func ExtensionStatuses() []int {
	return []int{
		http.StatusBadRequest,
		http.StatusUnauthorized,
		http.StatusRequestEntityTooLarge,
		http.StatusUnsupportedMediaType,
		http.StatusTooManyRequests,
		http.StatusServiceUnavailable,
	}
}

// New builds a Validator: it loads the document if needed and indexes its
// operations. Documents whose paths hold templates ({param}) are refused,
// since this index matches literal paths only and the vendor's API has none.
// Nothing here blocks (the embedded document is parsed once per process),
// so ctx is not consulted; it stays in the signature for callers that will
// pass documents needing a load.
func New(_ context.Context, opts Options) (*Validator, error) {
	src := opts.Doc
	if src == nil {
		var err error
		if src, err = asyncspeech.Spec(); err != nil {
			return nil, fmt.Errorf("validate: load embedded spec: %w", err)
		}
	}
	// Authentication is the server's job (api/auth): the validator checks
	// shapes only, so the security requirements are dropped from its copy
	// instead of being evaluated, per request, against a no-op check.
	if src.Paths == nil {
		return nil, errors.New("validate: document has no paths")
	}
	doc := shallowCopy(src)
	v := &Validator{
		doc:     doc,
		routes:  map[string]*routers.Route{},
		methods: map[string][]string{},
		filter: &openapi3filter.Options{
			// Authentication is the server's job (api/auth); the validator
			// only checks shapes.
			AuthenticationFunc:    openapi3filter.NoopAuthenticationFunc,
			IncludeResponseStatus: true,
		},
		strict:  opts.Strict,
		forward: opts.ForwardInvalidRequests,
		passAll: opts.PassUnknownRoutes,
		lenient: opts.IgnoreUndocumentedStatuses,
		ext:     map[int]bool{},
		log:     opts.Logger,
	}
	if v.log == nil {
		v.log = slog.Default()
	}
	n := opts.MaxConcurrent
	if n <= 0 {
		n = DefaultMaxConcurrent
	}
	v.slots = make(chan struct{}, n)
	v.maxWait = opts.MaxWait
	if v.maxWait <= 0 {
		v.maxWait = DefaultMaxWait
	}
	for _, s := range opts.ExtensionStatuses {
		v.ext[s] = true
	}
	switch {
	case opts.Verdicts == 0:
		v.verdicts = newVerdicts(DefaultVerdicts)
	case opts.Verdicts > 0:
		v.verdicts = newVerdicts(opts.Verdicts)
	}
	for path, item := range doc.Paths.Map() {
		if strings.ContainsAny(path, "{}") {
			return nil, fmt.Errorf("validate: path %q has a template; only literal paths are supported", path)
		}
		for method, orig := range item.Operations() {
			op := *orig
			op.Security = nil
			rt := &routers.Route{Spec: doc, Path: path, PathItem: item, Method: method, Operation: &op}
			v.routes[method+" "+path] = rt
			v.methods[path] = append(v.methods[path], method)
		}
		slices.Sort(v.methods[path])
	}
	return v, nil
}

// route finds the documented operation of r. It returns the HTTP status and
// message to answer when there is none (404 unknown path, 405 wrong method).
func (v *Validator) route(r *http.Request) (*routers.Route, int, string) {
	if rt, ok := v.routes[r.Method+" "+r.URL.Path]; ok {
		return rt, 0, ""
	}
	if methods, ok := v.methods[r.URL.Path]; ok {
		return nil, http.StatusMethodNotAllowed, fmt.Sprintf("method %s not allowed on %s; use %s", r.Method, r.URL.Path, strings.Join(methods, ", "))
	}
	return nil, http.StatusNotFound, fmt.Sprintf("no operation at %s %s", r.Method, r.URL.Path)
}

// Allows reports whether the document has an operation at method and path.
func (v *Validator) Allows(method, path string) bool {
	_, ok := v.routes[method+" "+path]
	return ok
}

// Allow returns the documented methods of path, for an Allow header.
func (v *Validator) Allow(path string) []string { return slices.Clone(v.methods[path]) }

// RequestError is a request that violates the document. Message names the
// field and the rule broken, fit to show a client; Err is the validator's
// own, long error, for logs only.
type RequestError struct {
	Status  int
	Message string
	Err     error
}

// Error returns the message fit for a client.
func (e *RequestError) Error() string { return e.Message }

// Unwrap returns the underlying validation error.
func (e *RequestError) Unwrap() error { return e.Err }

// ValidateRequest checks r against its operation. On success the route is
// returned and r.Body holds the body, with the document's defaults written
// in where any were missing; on failure a *RequestError says why. json.Valid
// runs first because it refuses trailing data after the JSON value, which
// kin-openapi's decoder ignores.
func (v *Validator) ValidateRequest(ctx context.Context, r *http.Request) (*routers.Route, error) {
	rt, status, msg := v.route(r)
	if rt == nil {
		return nil, &RequestError{Status: status, Message: msg}
	}
	data, rerr := precheckBody(r)
	if rerr != nil {
		return rt, rerr
	}
	if len(data) > 0 {
		// Syntax (json.Valid, which unlike kin-openapi's decoder refuses
		// trailing data), then structure the schema can never accept, both
		// before kin-openapi decodes the body into generic maps (bounds.go).
		if err := Shape(bodySchema(rt.Operation), data); err != nil {
			return rt, &RequestError{Status: http.StatusBadRequest, Message: err.Error(), Err: err}
		}
	}
	if b, ok := r.Body.(*Body); ok && r.GetBody == nil {
		// kin-openapi reads the body and puts it back through GetBody.
		r.GetBody = b.reopen
	}
	in := &openapi3filter.RequestValidationInput{Request: r, Route: rt, Options: v.filter}
	if err := openapi3filter.ValidateRequest(ctx, in); err != nil {
		return rt, &RequestError{Status: statusOfRequestError(err), Message: requestMessage(err), Err: err}
	}
	return rt, nil
}

// precheckBody reads the body, puts it back for the next reader, and
// refuses a JSON body that is not UTF-8 (encoding/json would silently turn
// it into U+FFFD). It returns the bytes of a non-empty JSON body.
func precheckBody(r *http.Request) ([]byte, *RequestError) {
	if r.Body == nil || r.Body == http.NoBody {
		return nil, nil
	}
	if b, ok := r.Body.(*Body); ok {
		data := b.Bytes()
		if len(data) == 0 {
			return nil, nil
		}
		return checkJSONBody(r, data)
	}
	data, err := io.ReadAll(r.Body)
	_ = r.Body.Close()
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return nil, &RequestError{Status: http.StatusRequestEntityTooLarge, Message: fmt.Sprintf("request body is larger than %d bytes", tooBig.Limit), Err: err}
		}
		return nil, &RequestError{Status: http.StatusBadRequest, Message: "request body could not be read", Err: err}
	}
	SetBody(r, data)
	if len(data) == 0 {
		return nil, nil // the schema check reports a missing required body
	}
	return checkJSONBody(r, data)
}

// Body is a request body read into memory once (SetBody): every later
// reader gets the same bytes without another copy.
type Body struct {
	bytes.Reader
	data []byte
}

// Bytes returns the whole body, whatever has been read of it.
func (b *Body) Bytes() []byte { return b.data }

// Close does nothing: the bytes stay valid for later readers.
func (b *Body) Close() error { return nil }

// SetBody makes data the body of r, for every later reader. r.GetBody
// returns another reader of the same bytes; it is set when the validator
// first needs it (ValidateRequest), so a request whose verdict is reused
// does not pay for it.
func SetBody(r *http.Request, data []byte) {
	b := &Body{data: data}
	b.Reader.Reset(data)
	r.Body = b
	r.ContentLength = int64(len(data))
	r.GetBody = nil
}

// reopen returns a fresh reader of the same bytes (http.Request.GetBody).
func (b *Body) reopen() (io.ReadCloser, error) {
	nb := &Body{data: b.data}
	nb.Reader.Reset(b.data)
	return nb, nil
}

// checkJSONBody refuses a JSON body that is not UTF-8 and returns the bytes
// of a JSON one (nil for another content type, which a later check refuses).
func checkJSONBody(r *http.Request, data []byte) ([]byte, *RequestError) {
	if !isJSON(mediaType(r.Header)) {
		return nil, nil // the content-type check reports it
	}
	if !utf8.Valid(data) {
		return nil, &RequestError{Status: http.StatusBadRequest, Message: "request body is not valid UTF-8"}
	}
	// JSON syntax is checked by the caller, before kin-openapi decodes it.
	return data, nil
}

func mediaType(h http.Header) string {
	ct := h.Get("Content-Type")
	if ct == "application/json" {
		return ct // the common case, without parsing
	}
	mt, _, _ := mime.ParseMediaType(ct)
	return mt
}

func isJSON(mediaType string) bool {
	return mediaType == "application/json" || strings.HasSuffix(mediaType, "+json")
}

func statusOfRequestError(err error) int {
	var re *openapi3filter.RequestError
	if errors.As(err, &re) && strings.HasPrefix(re.Reason, "header Content-Type has unexpected value") {
		return http.StatusUnsupportedMediaType
	}
	return http.StatusBadRequest
}

// requestMessage turns a kin-openapi request error (long, with schema dumps)
// into one short sentence naming the field and the rule.
func requestMessage(err error) string {
	var se *openapi3.SchemaError
	if errors.As(err, &se) {
		return schemaMessage(se)
	}
	if errors.Is(err, openapi3filter.ErrInvalidRequired) {
		return "request body is required"
	}
	var pe *openapi3filter.ParseError
	if errors.As(err, &pe) {
		return "request body is not valid JSON"
	}
	var re *openapi3filter.RequestError
	if errors.As(err, &re) {
		if strings.HasPrefix(re.Reason, "header Content-Type has unexpected value") {
			return "content type must be application/json"
		}
		if re.Parameter != nil {
			return fmt.Sprintf("parameter %s: invalid value", re.Parameter.Name)
		}
	}
	var sre *openapi3filter.SecurityRequirementsError
	if errors.As(err, &sre) {
		return "missing API key"
	}
	return "request does not match the API contract"
}

// schemaMessage writes "field: rule" from a schema error, never the value or
// the schema (either could be large, and the value may be sensitive).
func schemaMessage(se *openapi3.SchemaError) string {
	field := strings.Join(se.JSONPointer(), ".")
	reason := se.Reason
	switch {
	case se.SchemaField == "required" && field != "":
		// kin-openapi points at the missing property and repeats its name
		// in the reason.
		return field + ": property is required"
	case se.SchemaField == "anyOf" || se.SchemaField == "oneOf":
		reason = "value matches none of the allowed forms"
	case se.SchemaField == "pattern" && se.Schema != nil && isUUIDv4Pattern(se.Schema.Pattern):
		// The regular expression itself tells a client less than its name.
		reason = "must be a UUID version 4"
	case se.SchemaField == "nullable":
		// kin-openapi says "Value is not nullable", capitalised mid-message.
		reason = "must not be null"
		if field == "" && se.Schema != nil && se.Schema.Type.Is(openapi3.TypeObject) {
			reason = "must be a JSON object"
		}
	case reason == "":
		reason = "value does not match rule " + strconv.Quote(se.SchemaField)
	}
	if field == "" {
		// Whole-body rules: required and additionalProperties name their
		// property in the reason.
		return "request body: " + reason
	}
	return field + ": " + reason
}

// uuidSamples tell a UUIDv4 pattern from any other: it must accept the
// first two (both letter cases) and refuse the rest (version 1, wrong
// variant, no dashes).
var uuidSamples = [...]struct {
	id   string
	want bool
}{
	{"0b6f1f4e-8c1d-4e7a-9f3b-2a5c6d7e8f90", true},
	{"0B6F1F4E-8C1D-4E7A-9F3B-2A5C6D7E8F90", true},
	{"0b6f1f4e-8c1d-1e7a-9f3b-2a5c6d7e8f90", false},
	{"0b6f1f4e-8c1d-4e7a-cf3b-2a5c6d7e8f90", false},
	{"0b6f1f4e8c1d4e7a9f3b2a5c6d7e8f90", false},
}

// isUUIDv4Pattern reports whether pattern accepts UUIDv4s and refuses
// other UUIDs: the id of the result call, whatever the spec's spelling.
func isUUIDv4Pattern(pattern string) bool {
	re, err := regexp.Compile(pattern)
	if err != nil {
		return false
	}
	for _, s := range uuidSamples {
		if re.MatchString(s.id) != s.want {
			return false
		}
	}
	return true
}

// Kind says which rule of the document a response broke.
type Kind string

// The kinds of response violation.
const (
	// KindStatus: the status is neither documented for the operation nor
	// an extension status.
	KindStatus Kind = "status"
	// KindContentType: the body is not application/json.
	KindContentType Kind = "content-type"
	// KindSchema: the body does not match the schema of its status (or the
	// {"message"} shape of an extension status).
	KindSchema Kind = "schema"
)

// ResponseError is a response that violates the document.
type ResponseError struct {
	Operation string // operation id, or "METHOD /path"
	Status    int
	Kind      Kind
	// Path is the JSON pointer of the failing value in the body ("" for the
	// status, headers or the whole body).
	Path   string
	Reason string
	Err    error
}

// Error says which response broke which rule where.
func (e *ResponseError) Error() string {
	where := e.Path
	if where == "" {
		where = "(body)"
	}
	return fmt.Sprintf("response %d of %s violates the contract at %s: %s", e.Status, e.Operation, where, e.Reason)
}

// Unwrap returns the underlying validation error.
func (e *ResponseError) Unwrap() error { return e.Err }

// Response validates one response to req (its method and path select the
// operation) without serving anything, and returns the first violation
// found. Statuses in Options.ExtensionStatuses are accepted when the body is
// a JSON {"message"}. CheckResponse reports every violation instead.
func (v *Validator) Response(ctx context.Context, req *http.Request, status int, header http.Header, body []byte) error {
	rt, _, msg := v.route(req)
	if rt == nil {
		return &ResponseError{Operation: req.Method + " " + req.URL.Path, Status: status, Kind: KindStatus, Reason: msg}
	}
	if errs := v.response(ctx, req, rt, status, header, body, false); len(errs) > 0 {
		return errs[0]
	}
	return nil
}

// ReceivedResponse is a response received from a server, to be checked
// against the operation Method and Path name (the request's own URL may
// carry a base path prefix).
type ReceivedResponse struct {
	Method, Path string
	// Request is the request answered; nil stands for a bare one.
	Request *http.Request
	Status  int
	Header  http.Header
	Body    []byte
}

// CheckResponse validates a received response and returns every violation
// (nil when it conforms), as a contract suite or a client reports them.
// Nothing is logged.
func (v *Validator) CheckResponse(ctx context.Context, in ReceivedResponse) []*ResponseError {
	rt := v.routes[in.Method+" "+in.Path]
	if rt == nil {
		return []*ResponseError{{Operation: in.Method + " " + in.Path, Status: in.Status, Kind: KindStatus, Reason: "the document has no such operation"}}
	}
	req := in.Request
	if req == nil {
		req = &http.Request{Method: in.Method, URL: &url.URL{Path: in.Path}, Header: http.Header{}}
	}
	return v.response(ctx, req, rt, in.Status, in.Header, in.Body, true)
}

// Routes returns the operations of the document, sorted by path and method.
func (v *Validator) Routes() []*routers.Route {
	out := make([]*routers.Route, 0, len(v.routes))
	for _, rt := range v.routes {
		out = append(out, rt)
	}
	slices.SortFunc(out, func(a, b *routers.Route) int {
		return cmp.Or(strings.Compare(a.Path, b.Path), strings.Compare(a.Method, b.Method))
	})
	return out
}

// response checks one response of rt. all asks for every violation (the
// contract suite's report); otherwise it stops at the first (the middleware,
// which only logs and, in strict mode, replaces the response).
func (v *Validator) response(ctx context.Context, req *http.Request, rt *routers.Route, status int, header http.Header, body []byte, all bool) []*ResponseError {
	op := rt.Operation.OperationID
	if op == "" {
		op = rt.Method + " " + rt.Path
	}
	documented := rt.Operation.Responses.Status(status)
	if documented == nil {
		documented = rt.Operation.Responses.Default()
	}
	ext := documented == nil && v.ext[status]
	var out []*ResponseError
	if documented == nil && !ext {
		if v.lenient {
			return nil
		}
		out = append(out, &ResponseError{Operation: op, Status: status, Kind: KindStatus,
			Reason: fmt.Sprintf("status %d is neither documented for %s nor an extension status", status, op)})
		if !all {
			return out
		}
	}
	if wantsJSON(documented) && mediaType(header) != "application/json" {
		// A body of another type cannot be checked against a JSON schema.
		return append(out, &ResponseError{Operation: op, Status: status, Kind: KindContentType,
			Reason: fmt.Sprintf("content type %q, want application/json", header.Get("Content-Type"))})
	}
	switch {
	case ext:
		for _, reason := range messageBody(body) {
			out = append(out, &ResponseError{Operation: op, Status: status, Kind: KindSchema, Reason: reason})
		}
	case documented != nil:
		out = append(out, v.schema(ctx, req, rt, op, status, header, body, all)...)
	}
	if !all && len(out) > 1 {
		out = out[:1]
	}
	return out
}

// wantsJSON reports whether a response documented as d must be
// application/json: every extension or undocumented response is a JSON
// {"message"}, and a documented one is when the document says so.
func wantsJSON(d *openapi3.ResponseRef) bool {
	if d == nil || d.Value == nil {
		return true
	}
	return d.Value.Content.Get("application/json") != nil
}

// schema validates the body of a documented response with kin-openapi.
func (v *Validator) schema(ctx context.Context, req *http.Request, rt *routers.Route, op string, status int, header http.Header, body []byte, all bool) []*ResponseError {
	opts := v.filter
	if all {
		o := *v.filter
		o.MultiError = true
		opts = &o
	}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: req, Route: rt, Options: opts},
		Status:                 status,
		Header:                 header,
		Options:                opts,
	}
	in.SetBodyBytes(body)
	err := openapi3filter.ValidateResponse(ctx, in)
	if err == nil {
		return nil
	}
	var out []*ResponseError
	add := func(path, reason string, cause error) {
		out = append(out, &ResponseError{Operation: op, Status: status, Kind: KindSchema, Path: path, Reason: reason, Err: cause})
	}
	var walk func(error)
	walk = func(e error) {
		var me openapi3.MultiError
		var se *openapi3.SchemaError
		var rerr *openapi3filter.ResponseError
		switch {
		case errors.As(e, &me):
			for _, inner := range me {
				walk(inner)
			}
		case errors.As(e, &se):
			reason := se.Reason
			if reason == "" {
				reason = "violates " + se.SchemaField
			}
			reason += enumValue(se)
			add("/"+strings.Join(se.JSONPointer(), "/"), reason, e)
		case errors.As(e, &rerr):
			add("", rerr.Reason, e)
		default:
			add("", "does not match the schema: "+firstLine(e.Error()), e)
		}
	}
	walk(err)
	slices.SortFunc(out, func(a, b *ResponseError) int {
		return cmp.Or(strings.Compare(a.Path, b.Path), strings.Compare(a.Reason, b.Reason))
	})
	return out
}

// enumValue names the value a response sent where an enum allows others
// (" (got \"CANCELLED\")"), since an unknown status is the drift a reader
// most needs to see; kin-openapi's reason leaves values out. Request
// messages never show values (they may be sensitive); a response is the
// server's own. Long or non-string values are left out.
func enumValue(se *openapi3.SchemaError) string {
	v, ok := se.Value.(string)
	if se.SchemaField != "enum" || !ok || len(v) > 64 {
		return ""
	}
	return fmt.Sprintf(" (got %q)", v)
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

// messageBody checks the shape of an extension response, a JSON object
// holding exactly one string, message, and returns each way it differs.
func messageBody(body []byte) []string {
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		return []string{fmt.Sprintf(`body is not a JSON {"message"} object: %v`, err)}
	}
	var out []string
	msg, ok := m["message"]
	switch _, isString := msg.(string); {
	case !ok:
		out = append(out, `/message: property is required in a {"message"} body`)
	case !isString:
		out = append(out, "/message: value must be a string")
	}
	extra := make([]string, 0, len(m))
	for k := range m {
		if k != "message" {
			extra = append(extra, k)
		}
	}
	slices.Sort(extra)
	for _, k := range extra {
		out = append(out, fmt.Sprintf(`/%s: property is not allowed in a {"message"} body`, k))
	}
	return out
}

// Middleware wraps next: requests are validated before next sees them
// (invalid ones answered 400/404/405/413/415 with {"message"} unless
// ForwardInvalidRequests is set), and next's responses are buffered,
// validated, and then sent (or, in strict mode, replaced by a 500).
func (v *Validator) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if v.passAll {
			if rt, _, _ := v.route(r); rt == nil {
				next.ServeHTTP(w, r)
				return
			}
		}
		rt, err := v.validateRequestOnce(w, r)
		if rt == nil && err == nil {
			return // answered 503: no validation slot
		}
		if err != nil {
			var re *RequestError
			if !errors.As(err, &re) {
				re = &RequestError{Status: http.StatusBadRequest, Message: "request does not match the API contract", Err: err}
			}
			v.log.LogAttrs(r.Context(), slog.LevelInfo, "invalid request",
				slog.String("method", r.Method), slog.String("path", r.URL.Path),
				slog.Int("status", re.Status), slog.String("message", re.Message))
			if rt == nil || !v.forward {
				if re.Status == http.StatusMethodNotAllowed {
					w.Header().Set("Allow", strings.Join(v.methods[r.URL.Path], ", "))
				}
				apierr.WriteMessage(w, re.Status, re.Message)
				return
			}
		}
		rec := v.recorder()
		defer v.recycle(rec)
		next.ServeHTTP(rec, r)
		if rec.own {
			rec.flushTo(w)
			return
		}
		// Responses are this server's own small documents: their check is
		// not slotted, so an answer is never held back or sent unchecked.
		// A byte-identical response that passed before passes again.
		body, ct := rec.body.Bytes(), rec.header.Get("Content-Type")
		cacheable := v.verdicts != nil && rec.status < 400 && responseCacheable(rt, rec.status)
		if cacheable && v.verdicts.passed(kindResponse, rt, rec.status, ct, body) {
			rec.flushTo(w)
			return
		}
		errs := v.response(r.Context(), r, rt, rec.status, rec.header, body, false)
		if len(errs) == 0 && cacheable {
			v.verdicts.pass(kindResponse, rt, rec.status, ct, body)
		}
		if len(errs) > 0 {
			re := errs[0]
			attrs := []slog.Attr{slog.String("route", rt.Method+" "+rt.Path), slog.Int("status", rec.status), slog.String("error", re.Error()),
				slog.String("failing_path", re.Path), slog.String("reason", re.Reason)}
			v.log.LogAttrs(r.Context(), slog.LevelError, "response violates the API contract", attrs...)
			if v.strict {
				apierr.WriteMessage(w, http.StatusInternalServerError, "internal error: the response did not match the API contract")
				return
			}
		}
		rec.flushTo(w)
	})
}

// validateRequestOnce validates r in a validation slot, unless a request
// with the same operation, Content-Type and body bytes passed before. It
// returns (nil, nil) after answering 503 when no slot came free.
func (v *Validator) validateRequestOnce(w http.ResponseWriter, r *http.Request) (*routers.Route, error) {
	var data []byte
	var ct string
	var rt *routers.Route
	if b, ok := r.Body.(*Body); ok && v.verdicts != nil {
		if rt, _, _ = v.route(r); rt != nil && requestCacheable(rt) {
			data, ct = b.Bytes(), r.Header.Get("Content-Type")
			if v.verdicts.passed(kindRequest, rt, 0, ct, data) {
				return rt, nil
			}
		} else {
			rt = nil
		}
	}
	if !v.acquire(r.Context()) {
		v.log.LogAttrs(r.Context(), slog.LevelWarn, "validation slots busy",
			slog.String("method", r.Method), slog.String("path", r.URL.Path), slog.Int("slots", cap(v.slots)))
		w.Header().Set("Retry-After", "1")
		apierr.WriteMessage(w, http.StatusServiceUnavailable, fmt.Sprintf("server busy: %d requests are being validated; retry after 1 s", cap(v.slots)))
		return nil, nil
	}
	got, err := v.ValidateRequest(r.Context(), r)
	v.release()
	if err == nil && rt != nil && unchangedBody(r, data) {
		v.verdicts.pass(kindRequest, rt, 0, ct, data)
	}
	return got, err
}

// acquire takes a validation slot, waiting at most maxWait; false when
// none came free in time or ctx ended.
func (v *Validator) acquire(ctx context.Context) bool {
	select {
	case v.slots <- struct{}{}:
		return true
	default:
	}
	t := time.NewTimer(v.maxWait)
	defer t.Stop()
	select {
	case v.slots <- struct{}{}:
		return true
	case <-t.C:
		return false
	case <-ctx.Done():
		return false
	}
}

func (v *Validator) release() { <-v.slots }

// maxPooledBody is the largest body buffer a recorder keeps for the next
// response; a larger one (a rare big answer) is left to the collector.
const maxPooledBody = 16 << 10

// recorder returns an empty recorder, reused when one is free.
func (v *Validator) recorder() *recorder {
	if rec, ok := v.recorders.Get().(*recorder); ok {
		return rec
	}
	return &recorder{header: http.Header{}, status: http.StatusOK}
}

// recycle empties rec for the next response. The handler it was given to
// has returned, and flushTo handed its header values on (they are never
// modified, only dropped from rec's map here).
func (v *Validator) recycle(rec *recorder) {
	if rec.body.Cap() > maxPooledBody {
		return
	}
	clear(rec.header)
	rec.body.Reset()
	rec.status, rec.wroteHeader, rec.own = http.StatusOK, false, false
	v.recorders.Put(rec)
}

// recorder buffers a response so it can be validated before any byte of it
// is sent. The API's responses are small JSON documents, so buffering costs
// little and lets strict mode replace a bad response whole.
type recorder struct {
	header      http.Header
	status      int
	wroteHeader bool
	body        bytes.Buffer
	// own marks a response of the wrapping program itself (MarkOwn).
	own bool
}

// MarkOwn tells Middleware that the response being written to w is the
// wrapping program's own answer, not the wrapped API's: a proxy's 502 when
// its upstream is unreachable, say. Such a response is passed on without
// being validated (it describes the proxy, not the API under test), and
// strict mode does not replace it. w must be the ResponseWriter Middleware
// handed to the wrapped handler; for any other writer MarkOwn does nothing
// and reports false.
func MarkOwn(w http.ResponseWriter) bool {
	rec, ok := w.(*recorder)
	if ok {
		rec.own = true
	}
	return ok
}

func (r *recorder) Header() http.Header { return r.header }

func (r *recorder) WriteHeader(status int) {
	if r.wroteHeader {
		return
	}
	r.wroteHeader = true
	r.status = status
}

func (r *recorder) Write(p []byte) (int, error) {
	r.WriteHeader(http.StatusOK)
	return r.body.Write(p)
}

func (r *recorder) flushTo(w http.ResponseWriter) {
	dst := w.Header()
	for k, vs := range r.header {
		dst[k] = vs
	}
	w.WriteHeader(r.status)
	_, _ = w.Write(r.body.Bytes())
}
