// Package asyncspeech is the root of a Go module for Distribute.AI's
// asynchronous speech API. It embeds the OpenAPI document (openapi.json) that
// drives everything else in the module: the generated bindings in generated/,
// the runtime validator in api/validate, the reference server and the
// contract-test harness.
package asyncspeech

import (
	"context"
	_ "embed"
	"fmt"
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
