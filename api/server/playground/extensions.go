package playground

import asyncspeech "github.com/distributeai/asyncspeech"

// Extension is a status this server may answer beyond those openapi.json
// documents for an operation, always with a {"message"} body.
type Extension struct {
	// Status is the HTTP status.
	Status int
	// Operation is the operation id the extension applies to; "" for both.
	Operation string
	// Label is the status as the README's table names it.
	Label string
	// When says when the server sends it, in the README's words (Markdown
	// code spans allowed).
	When string
}

// Extensions returns the documented extensions as the README's table
// "Documented extensions to the spec" lists them; a test keeps the two
// identical and checks that every status the validator accepts as an
// extension (validate.ExtensionStatuses) is here.
func Extensions() []Extension {
	return []Extension{
		{Status: 400, Operation: asyncspeech.OperationResult, Label: "400 on the result call",
			When: "malformed id (not a UUID version 4) or a body the spec refuses (the spec documents 400 for create only)"},
		{Status: 401, Label: "401", When: "missing `authorization` header, or a key that is not configured"},
		{Status: 405, Label: "405", When: "a method other than POST on an operation's path"},
		{Status: 413, Label: "413", When: "request body over its operation's limit, computed from its schema (create 53 849 bytes, result 4 126), or over `--max-body` (1 MiB) elsewhere"},
		{Status: 415, Label: "415", When: "content type other than `application/json`"},
		{Status: 429, Label: "429", When: "the key exceeded `--rate-limit`, or has `--max-pending-per-key` (1000) unfinished tasks (with `Retry-After`)"},
		{Status: 503, Label: "503", When: "`--max-pending` (10 000) unfinished tasks in all, less than `--min-free-disk` (512 MiB) free on the data disk, no room for the body within 2 s (`--max-body-inflight`) or no validation slot (`--max-validating`), shutting down, or the store cannot accept a create; always with `Retry-After`"},
	}
}
