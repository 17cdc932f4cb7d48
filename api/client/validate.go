package client

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"

	"github.com/distributeai/asyncspeech"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
)

// validator checks API responses against the embedded contract.
type validator struct {
	routes map[string]*routers.Route // by operation path
}

func newValidator(ctx context.Context) (*validator, error) {
	// A private copy: the shared asyncspeech.Spec() must stay read-only.
	doc, err := asyncspeech.ParseSpec(ctx)
	if err != nil {
		return nil, fmt.Errorf("client: response validation: %w", err)
	}
	// The routes are built by hand from the operation the client just
	// called, so the vendor's server URL must not constrain anything: a
	// client pointed at speechd or a proxy validates the same way.
	doc.Servers = nil
	v := &validator{routes: map[string]*routers.Route{}}
	for _, op := range []operation{opCreate, opResult} {
		item := doc.Paths.Value(op.path)
		if item == nil || item.Post == nil {
			return nil, fmt.Errorf("client: response validation: openapi.json has no POST %s", op.path)
		}
		v.routes[op.path] = &routers.Route{Spec: doc, Path: op.path, PathItem: item, Method: http.MethodPost, Operation: item.Post}
	}
	return v, nil
}

// check validates one response. Statuses the contract does not list (401,
// 429, 502...) pass: they are the transport's and the retry loop's business,
// not drift of the documented payloads.
func (v *validator) check(ctx context.Context, op operation, resp *http.Response, body []byte) error {
	req := resp.Request
	if req == nil {
		req = &http.Request{Method: http.MethodPost, Header: http.Header{}}
	}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{
			Request: req,
			Route:   v.routes[op.path],
			Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc},
		},
		Status: resp.StatusCode,
		Header: resp.Header,
		Body:   io.NopCloser(bytes.NewReader(body)),
	}
	if err := openapi3filter.ValidateResponse(ctx, in); err != nil {
		return &ContractError{Operation: op.name, StatusCode: resp.StatusCode, Err: err}
	}
	return nil
}
