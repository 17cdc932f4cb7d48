package asyncspeech_test

import (
	"context"
	"regexp"
	"slices"
	"testing"

	asyncspeech "github.com/distributeai/asyncspeech"
)

func TestSpecLoadsAndValidates(t *testing.T) {
	doc, err := asyncspeech.Spec()
	if err != nil {
		t.Fatalf("Spec() error: %v", err)
	}
	again, err := asyncspeech.Spec()
	if err != nil || again != doc {
		t.Fatalf("Spec() second call returned %p, %v; want the same document %p", again, err, doc)
	}
	if got, want := doc.OpenAPI, "3.0.3"; got != want {
		t.Errorf("openapi version: got %q, want %q", got, want)
	}

	ops := map[string]string{}
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			ops[op.OperationID] = method + " " + path
		}
	}
	wantOps := map[string]string{
		asyncspeech.OperationCreate: "POST /async/speech/create",
		asyncspeech.OperationResult: "POST /async/speech/result",
	}
	for id, want := range wantOps {
		if got := ops[id]; got != want {
			t.Errorf("operation %s: got %q, want %q", id, got, want)
		}
	}
	if len(ops) != len(wantOps) {
		t.Errorf("got %d operations, want %d: %v", len(ops), len(wantOps), ops)
	}

	result := doc.Paths.Find("/async/speech/result").Post
	idSchema := result.RequestBody.Value.Content.Get("application/json").Schema.Value.Properties["id"].Value
	re, err := regexp.Compile(idSchema.Pattern)
	if err != nil {
		t.Fatalf("id pattern %q does not compile: %v", idSchema.Pattern, err)
	}
	for _, tc := range []struct {
		id   string
		want bool
	}{
		{"9b2f3c1e-8d4a-4f6b-9c2d-1a2b3c4d5e6f", true},
		{"9B2F3C1E-8D4A-4F6B-AC2D-1A2B3C4D5E6F", true},
		{"9b2f3c1e-8d4a-1f6b-9c2d-1a2b3c4d5e6f", false}, // version 1
		{"9b2f3c1e-8d4a-4f6b-7c2d-1a2b3c4d5e6f", false}, // wrong variant
		{"not-a-uuid", false},
	} {
		if got := re.MatchString(tc.id); got != tc.want {
			t.Errorf("id pattern on %q: got %v, want %v", tc.id, got, tc.want)
		}
	}

	status := result.Responses.Status(200).Value.Content.Get("application/json").Schema.Value.Properties["status"].Value
	var got []string
	for _, v := range status.Enum {
		got = append(got, v.(string))
	}
	want := []string{"CREATED", "QUEUED", "POSTPONED", "ASSIGNED_CONNECTIONS", "PROCESSING", "COMPLETED", "ERROR"}
	if !slices.Equal(got, want) {
		t.Errorf("status enum: got %v, want %v", got, want)
	}
}

func TestParseSpecReturnsPrivateCopy(t *testing.T) {
	a, err := asyncspeech.ParseSpec(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	shared, err := asyncspeech.Spec()
	if err != nil {
		t.Fatal(err)
	}
	a.Servers = nil
	if len(shared.Servers) == 0 {
		t.Fatalf("clearing servers on a ParseSpec copy changed the shared Spec()")
	}
	raw := asyncspeech.SpecJSON()
	raw[0] = 'X'
	if asyncspeech.SpecJSON()[0] == 'X' {
		t.Fatalf("SpecJSON() exposes the embedded bytes; want a copy")
	}
}

func TestOperations(t *testing.T) {
	want := []asyncspeech.Operation{
		{ID: asyncspeech.OperationCreate, Method: "POST", Path: "/async/speech/create"},
		{ID: asyncspeech.OperationResult, Method: "POST", Path: "/async/speech/result"},
	}
	if got := asyncspeech.Operations(); !slices.Equal(got, want) {
		t.Errorf("Operations(): got %v, want %v", got, want)
	}
	if got := asyncspeech.MustOperation(asyncspeech.OperationResult).Path; got != "/async/speech/result" {
		t.Errorf("MustOperation(result).Path: got %q", got)
	}
	defer func() {
		if recover() == nil {
			t.Error("MustOperation of an unknown id: got no panic, want one")
		}
	}()
	asyncspeech.MustOperation("noSuchOperation")
}
