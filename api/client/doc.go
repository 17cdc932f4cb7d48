// Package client is the ergonomic Go client for Distribute.AI's asynchronous
// speech API and for any server that keeps its contract (such as speechd).
//
// It sits on top of the bindings generated from openapi.json (package
// generated) and adds what every caller of an asynchronous API otherwise
// writes by hand: authentication, retries that are safe for a paid,
// non-idempotent create call, a polling loop with exponential backoff and
// jitter, typed errors, Unix times as time.Time whatever their unit, result
// downloads, and optional validation of every response against the embedded
// contract.
//
// The shortest useful program:
//
//	c, err := client.New() // API key from DISTRIBUTE_API_KEY
//	if err != nil { ... }
//	task, err := c.Speak(ctx, client.CreateParams{Input: "Hello, world."})
//	if err != nil { ... }
//	_, err = c.DownloadFile(ctx, task, "hello.wav")
//
// The package lives under api/ next to the reference server because both are
// hand-written code over the same generated bindings; it imports nothing of
// the server, so a program that only calls the API pulls in only net/http,
// the generated models and (for WithResponseValidation) kin-openapi.
package client
