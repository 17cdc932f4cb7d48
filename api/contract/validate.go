package contract

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"sort"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"

	asyncspeech "github.com/distributeai/asyncspeech"
)

// Kinds of conformance violation; each feeds the conformance check of the same name.
const (
	violationStatus      = "status"
	violationContentType = "content-type"
	violationSchema      = "schema"
)

// violation is one way a response broke the contract.
type violation struct {
	kind    string
	message string
}

// operation is one spec operation with everything the suite needs to call and
// validate it, resolved once.
type operation struct {
	id     string // operationId, e.g. asyncSpeechCreate
	short  string // name used in check names, e.g. create
	path   string
	method string
	route  *routers.Route
	// body is the application/json request body schema.
	body *openapi3.Schema
}

// specModel is the parsed spec as the suite uses it.
type specModel struct {
	doc *openapi3.T
	ops map[string]*operation
	// message is the spec's own {"message"} error schema, used for the
	// documented extension statuses that the spec does not list.
	message *openapi3.Schema
}

// ExtensionStatuses are the statuses this project documents beyond the spec
// (see docs/contract.md), each with a {"message"} body: 400 on the result
// call for a malformed id (the spec documents 400 only for create), 401 for a
// missing or unknown key, 413 for a body over the limit, 415 for a non-JSON
// content type, 429 for a key over its rate, 503 while shutting down.
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

func loadSpec(ctx context.Context) (*specModel, error) {
	doc, err := asyncspeech.ParseSpec(ctx)
	if err != nil {
		return nil, fmt.Errorf("contract: load spec: %w", err)
	}
	// Host matching against the vendor's server URL would reject every base URL
	// the suite is pointed at.
	doc.Servers = nil
	m := &specModel{doc: doc, ops: map[string]*operation{}}
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			o := &operation{
				id:     op.OperationID,
				short:  shortName(op.OperationID),
				path:   path,
				method: method,
				route:  &routers.Route{Spec: doc, Path: path, PathItem: item, Method: method, Operation: op},
			}
			if rb := op.RequestBody; rb != nil && rb.Value != nil {
				if mt := rb.Value.Content.Get("application/json"); mt != nil && mt.Schema != nil {
					o.body = mt.Schema.Value
				}
			}
			if m.message == nil {
				if r := op.Responses.Status(http.StatusNotFound); r != nil && r.Value != nil {
					if mt := r.Value.Content.Get("application/json"); mt != nil && mt.Schema != nil {
						m.message = mt.Schema.Value
					}
				}
			}
			m.ops[o.id] = o
		}
	}
	for _, id := range []string{asyncspeech.OperationCreate, asyncspeech.OperationResult} {
		if m.ops[id] == nil || m.ops[id].body == nil {
			return nil, fmt.Errorf("contract: spec has no operation %q with a JSON request body", id)
		}
	}
	if m.message == nil {
		return nil, errors.New("contract: spec documents no 404 {message} schema to validate extension statuses with")
	}
	return m, nil
}

// shortName turns asyncSpeechCreate into create for check names.
func shortName(opID string) string {
	s := strings.TrimPrefix(opID, "asyncSpeech")
	if s == "" {
		return opID
	}
	return strings.ToLower(s)
}

// documented reports whether status is in the spec for op, or one of the
// documented extensions.
func (m *specModel) documented(op *operation, status int) (inSpec, extension bool) {
	if op.route.Operation.Responses.Status(status) != nil {
		return true, false
	}
	for _, s := range ExtensionStatuses() {
		if s == status {
			return false, true
		}
	}
	return false, false
}

// validateResponse checks one response of op against the contract: a
// documented status, application/json, a body that matches the schema for
// that status (or the {"message"} schema for an extension status).
func (m *specModel) validateResponse(ctx context.Context, op *operation, req *http.Request, status int, header http.Header, body []byte) []violation {
	var out []violation
	inSpec, ext := m.documented(op, status)
	if !inSpec && !ext {
		out = append(out, violation{violationStatus, fmt.Sprintf("status %d is neither in the spec for %s nor a documented extension", status, op.id)})
	}
	ct := header.Get("Content-Type")
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil || mt != "application/json" {
		out = append(out, violation{violationContentType, fmt.Sprintf("status %d: Content-Type %q, want application/json", status, ct)})
		// A body of another type cannot be checked against a JSON schema.
		return out
	}
	switch {
	case inSpec:
		input := &openapi3filter.ResponseValidationInput{
			RequestValidationInput: &openapi3filter.RequestValidationInput{Request: req, Route: op.route},
			Status:                 status,
			Header:                 header,
			Options:                &openapi3filter.Options{MultiError: true},
		}
		input.SetBodyBytes(body)
		if err := openapi3filter.ValidateResponse(ctx, input); err != nil {
			for _, msg := range schemaMessages(err) {
				out = append(out, violation{violationSchema, fmt.Sprintf("status %d: %s", status, msg)})
			}
		}
	case ext:
		var v any
		if err := json.Unmarshal(body, &v); err != nil {
			out = append(out, violation{violationSchema, fmt.Sprintf("status %d: body is not JSON: %v", status, err)})
			break
		}
		if err := m.message.VisitJSON(v, openapi3.MultiErrors(), openapi3.VisitAsResponse()); err != nil {
			for _, msg := range schemaMessages(err) {
				out = append(out, violation{violationSchema, fmt.Sprintf("status %d (extension, {\"message\"} body): %s", status, msg)})
			}
		}
	}
	return out
}

// schemaMessages turns kin-openapi's long error texts (which dump whole
// schemas) into short "path: reason" lines.
func schemaMessages(err error) []string {
	var re *openapi3filter.ResponseError
	if errors.As(err, &re) {
		if re.Err == nil {
			return []string{re.Reason}
		}
		var se *openapi3.SchemaError
		var me openapi3.MultiError
		if !errors.As(re.Err, &me) && !errors.As(re.Err, &se) {
			return []string{re.Reason + ": " + firstLine(re.Err.Error())}
		}
		err = re.Err
	}
	var out []string
	var walk func(error)
	walk = func(e error) {
		switch v := e.(type) {
		case openapi3.MultiError:
			for _, inner := range v {
				walk(inner)
			}
		case *openapi3.SchemaError:
			out = append(out, "/"+strings.Join(v.JSONPointer(), "/")+": "+v.Reason)
		default:
			out = append(out, firstLine(e.Error()))
		}
	}
	walk(err)
	sort.Strings(out)
	return out
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

// validateRequestValue reports whether v, a JSON-shaped Go value (maps,
// slices, strings, float64, bool, nil) as the suite builds them, matches
// schema as a request body; the suite proves its own derived inputs valid or
// invalid with it before sending them.
func validateRequestValue(schema *openapi3.Schema, v any) error {
	return schema.VisitJSON(v, openapi3.VisitAsRequest())
}

// readLimited reads at most limit bytes of r and discards the rest.
func readLimited(r io.Reader, limit int64) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, limit))
	if err != nil {
		return b, err
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(r, 64<<20))
	return b, nil
}
