// Package generated holds the oapi-codegen output for the embedded
// openapi.json: the request and response models, the typed client
// (ClientWithResponses) and the strict server interface on net/http's
// ServeMux. Everything in api.gen.go is produced by `go generate ./...` from
// the module root and must never be edited by hand; CI regenerates it and
// fails on any difference.
package generated
