package asyncspeech

// The bindings in generated/ come from openapi.json, with the generator pinned
// in go.mod through tools.go, so no global install is needed.
//go:generate go run github.com/oapi-codegen/oapi-codegen/v2/cmd/oapi-codegen -config generated/config.yaml openapi.json
