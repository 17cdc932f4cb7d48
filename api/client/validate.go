package client

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/distributeai/asyncspeech/api/validate"
)

// validator checks API responses against the embedded contract with
// api/validate, the validator the reference server, the proxy and the
// contract suite use.
type validator struct {
	v *validate.Validator
}

func newValidator(ctx context.Context) (*validator, error) {
	// Statuses the contract does not list (401, 429, 502...) pass: they are
	// the transport's and the retry loop's business, not drift of the
	// documented payloads.
	v, err := validate.New(ctx, validate.Options{IgnoreUndocumentedStatuses: true})
	if err != nil {
		return nil, fmt.Errorf("client: response validation: %w", err)
	}
	for _, op := range []operation{opCreate, opResult} {
		if spec := op.spec(); !v.Allows(spec.Method, spec.Path) {
			return nil, fmt.Errorf("client: response validation: openapi.json has no %s %s", spec.Method, spec.Path)
		}
	}
	return &validator{v: v}, nil
}

// check validates one response, routed by the operation the client called
// (not the request's URL, which may carry the base URL's path prefix).
func (v *validator) check(ctx context.Context, op operation, taskID string, resp *http.Response, body []byte) error {
	errs := v.v.CheckResponse(ctx, validate.ReceivedResponse{
		Method: op.spec().Method, Path: op.spec().Path, Request: resp.Request,
		Status: resp.StatusCode, Header: resp.Header, Body: body,
	})
	if len(errs) == 0 {
		return nil
	}
	all := make([]error, len(errs))
	for i, e := range errs {
		all[i] = e
	}
	return &ContractError{Operation: op.name, TaskID: taskID, StatusCode: resp.StatusCode, Err: errors.Join(all...)}
}
