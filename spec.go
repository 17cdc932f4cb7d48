// Package asyncspeech is the root of a Go module for Distribute.AI's
// asynchronous speech API. It embeds the OpenAPI document (openapi.json) that
// drives everything else in the module: the generated bindings in generated/,
// the runtime validator in api/validate, the reference server and the
// contract-test harness.
package asyncspeech

import (
	"cmp"
	"context"
	_ "embed"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/getkin/kin-openapi/openapi3"
)

//go:embed openapi.json
var specJSON []byte

// Operation ids of the two vendor operations, as named in openapi.json.
const (
	OperationCreate = "asyncSpeechCreate"
	OperationResult = "asyncSpeechResult"
)

// SpecJSON returns the raw bytes of the embedded openapi.json. The slice is a
// copy, so callers may keep or change it freely.
func SpecJSON() []byte {
	return append([]byte(nil), specJSON...)
}

var shared = sync.OnceValues(func() (*openapi3.T, error) { return ParseSpec(context.Background()) })

// Spec returns the embedded document, parsed and validated once per process.
// The document is shared: callers must treat it as read-only. Use ParseSpec
// for a private copy that may be modified (for example to clear servers
// before building a router).
func Spec() (*openapi3.T, error) {
	return shared()
}

// ParseSpec parses and validates a fresh copy of the embedded document.
func ParseSpec(ctx context.Context) (*openapi3.T, error) {
	loader := openapi3.NewLoader()
	loader.Context = ctx
	doc, err := loader.LoadFromData(specJSON)
	if err != nil {
		return nil, fmt.Errorf("parse embedded openapi.json: %w", err)
	}
	if err := doc.Validate(ctx); err != nil {
		return nil, fmt.Errorf("validate embedded openapi.json: %w", err)
	}
	return doc, nil
}

// Operation is one operation of the embedded spec: what the server routes,
// metrics label and load tools call, read from openapi.json rather than
// written out again in each package.
type Operation struct {
	ID, Method, Path string
}

// Operations returns the operations of the embedded spec, sorted by path
// and method (nil only if the embedded document does not parse, which the
// module's tests rule out).
func Operations() []Operation { return slices.Clone(operations()) }

// operations lists the operations once per process, like Spec.
var operations = sync.OnceValue(func() []Operation {
	doc, err := Spec()
	if err != nil {
		return nil
	}
	var out []Operation
	for _, path := range doc.Paths.InMatchingOrder() {
		for method, op := range doc.Paths.Value(path).Operations() {
			out = append(out, Operation{ID: op.OperationID, Method: method, Path: path})
		}
	}
	slices.SortFunc(out, func(a, b Operation) int {
		return cmp.Or(strings.Compare(a.Path, b.Path), strings.Compare(a.Method, b.Method))
	})
	return out
})

// MustOperation returns the operation with id; it panics if the spec has
// none, which only a spec change that also breaks the generated code can
// cause (the ids are the generated interface's method names).
func MustOperation(id string) Operation {
	for _, op := range operations() {
		if op.ID == id {
			return op
		}
	}
	panic(fmt.Sprintf("asyncspeech: the embedded spec has no operation %q", id))
}
