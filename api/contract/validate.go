package contract

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"

	asyncspeech "github.com/distributeai/asyncspeech"
	"github.com/distributeai/asyncspeech/api/validate"
)

// Kinds of conformance violation; each feeds the conformance check of the
// same name. They are api/validate's kinds: the suite reports what the one
// response validator finds.
const (
	violationStatus      = string(validate.KindStatus)
	violationContentType = string(validate.KindContentType)
	violationSchema      = string(validate.KindSchema)
)

// violation is one way a response broke the contract.
type violation struct {
	kind    string
	message string
}

// operation is one spec operation with everything the suite needs to call
// it and derive inputs for it, resolved once.
type operation struct {
	id     string // operationId, e.g. asyncSpeechCreate
	short  string // name used in check names, e.g. create
	path   string
	method string
	// body is the application/json request body schema.
	body *openapi3.Schema
}

// specModel is the spec as the suite uses it: the validator that checks
// every response, and the operations it indexed.
type specModel struct {
	check *validate.Validator
	ops   map[string]*operation
}

func loadSpec(ctx context.Context) (*specModel, error) {
	// The documented extension statuses are accepted when their body is a
	// {"message"} (see docs/contract.md); the reference server sends them.
	check, err := validate.New(ctx, validate.Options{ExtensionStatuses: validate.ExtensionStatuses()})
	if err != nil {
		return nil, fmt.Errorf("contract: %w", err)
	}
	m := &specModel{check: check, ops: map[string]*operation{}}
	for _, rt := range check.Routes() {
		op := rt.Operation
		o := &operation{id: op.OperationID, short: shortName(op.OperationID), path: rt.Path, method: rt.Method}
		if rb := op.RequestBody; rb != nil && rb.Value != nil {
			if mt := rb.Value.Content.Get("application/json"); mt != nil && mt.Schema != nil {
				o.body = mt.Schema.Value
			}
		}
		m.ops[o.id] = o
	}
	for _, id := range []string{asyncspeech.OperationCreate, asyncspeech.OperationResult} {
		if m.ops[id] == nil || m.ops[id].body == nil {
			return nil, fmt.Errorf("contract: spec has no operation %q with a JSON request body", id)
		}
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

// validateResponse checks one response of op against the contract with
// api/validate and returns every violation: a status neither documented nor
// an extension, a content type other than application/json, a body that
// does not match the schema for its status (or the {"message"} shape of an
// extension status).
func (m *specModel) validateResponse(ctx context.Context, op *operation, req *http.Request, status int, header http.Header, body []byte) []violation {
	errs := m.check.CheckResponse(ctx, validate.ReceivedResponse{
		Method: op.method, Path: op.path, Request: req, Status: status, Header: header, Body: body,
	})
	out := make([]violation, 0, len(errs))
	for _, e := range errs {
		where := ""
		if e.Path != "" {
			where = e.Path + ": "
		}
		out = append(out, violation{string(e.Kind), fmt.Sprintf("status %d: %s%s", status, where, e.Reason)})
	}
	return out
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
