//go:build tools

// This file pins build-time tools in go.mod so that `go generate` runs the
// exact generator version the committed output was made with.
package asyncspeech

import (
	_ "github.com/oapi-codegen/oapi-codegen/v2/cmd/oapi-codegen"
)
