package specdiff_test

import (
	"context"
	"encoding/json"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/distributeai/asyncspeech/api/specdiff"
)

// base is the vendor's document 1.0.0 (a frozen copy of openapi.json, so
// these cases do not move when the module takes a new version), decoded:
// the old side of every pair.
func base(t *testing.T) map[string]any {
	t.Helper()
	b, err := os.ReadFile("testdata/base.json")
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// at walks a decoded document by JSON keys and returns the object there.
func at(t *testing.T, m map[string]any, keys ...string) map[string]any {
	t.Helper()
	cur := m
	for i, k := range keys {
		next, ok := cur[k].(map[string]any)
		if !ok {
			t.Fatalf("no object at %v", keys[:i+1])
		}
		cur = next
	}
	return cur
}

const (
	createPath = "/async/speech/create"
	resultPath = "/async/speech/result"
)

func createBody(t *testing.T, m map[string]any) map[string]any {
	return at(t, m, "paths", createPath, "post", "requestBody", "content", "application/json", "schema")
}

func resultBody(t *testing.T, m map[string]any) map[string]any {
	return at(t, m, "paths", resultPath, "post", "requestBody", "content", "application/json", "schema")
}

func result200(t *testing.T, m map[string]any) map[string]any {
	return at(t, m, "paths", resultPath, "post", "responses", "200", "content", "application/json", "schema")
}

func parse(t *testing.T, name string, m map[string]any) *specdiff.Document {
	t.Helper()
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	d, err := specdiff.Parse(context.Background(), name, b)
	if err != nil {
		t.Fatalf("parse %s: %v", name, err)
	}
	return d
}

const (
	ptrCreate     = "/paths/~1async~1speech~1create/post"
	ptrCreateBody = ptrCreate + "/requestBody/content/application~1json/schema"
	ptrResult     = "/paths/~1async~1speech~1result/post"
	ptrResultBody = ptrResult + "/requestBody/content/application~1json/schema"
	ptrResult200  = ptrResult + "/responses/200/content/application~1json/schema"
	opCreate      = "asyncSpeechCreate"
	opResult      = "asyncSpeechResult"
	client        = specdiff.PartyClient
	server        = specdiff.PartyServer
	contract      = specdiff.PartyContract
	breaking      = specdiff.LevelBreaking
	warning       = specdiff.LevelWarning
	info          = specdiff.LevelInfo
)

// want is the change a case must find, by pointer.
type want struct {
	level     specdiff.Level
	op        string
	pointer   string
	rule      string // "" for any rule
	breaks    []specdiff.Party
	notBreaks []specdiff.Party
	reason    string // a substring of the message or of an impact's reason
}

func TestCompare(t *testing.T) {
	tests := []struct {
		name string
		edit func(t *testing.T, m map[string]any)
		// editBoth, if set, changes both documents before edit.
		editBoth func(t *testing.T, m map[string]any)
		// fails is what `speech spec diff` turns into exit status 1: a
		// change at level breaking.
		fails bool
		want  []want
	}{
		{name: "identical", edit: func(*testing.T, map[string]any) {}},
		{name: "description-only change", edit: func(t *testing.T, m map[string]any) {
			at(t, m, "paths", createPath, "post")["description"] = "Queue a task. Reworded."
			createBody(t, m)["properties"].(map[string]any)["voice"].(map[string]any)["description"] = "A voice."
		}},
		{name: "optional request property added", edit: func(t *testing.T, m map[string]any) {
			createBody(t, m)["properties"].(map[string]any)["speed"] = map[string]any{"type": "number", "minimum": 0.5, "maximum": 2}
		}, want: []want{{level: warning, op: opCreate, pointer: ptrCreateBody + "/properties/speed",
			breaks: []specdiff.Party{server}, notBreaks: []specdiff.Party{client}}}},
		{name: "required request property added", edit: func(t *testing.T, m map[string]any) {
			body := createBody(t, m)
			body["properties"].(map[string]any)["language"] = map[string]any{"type": "string"}
			body["required"] = append(body["required"].([]any), "language")
		}, fails: true, want: []want{{level: breaking, op: opCreate, pointer: ptrCreateBody + "/properties/language",
			breaks: []specdiff.Party{client, contract}, notBreaks: []specdiff.Party{server}}}},
		{name: "response property removed", edit: func(t *testing.T, m map[string]any) {
			body := result200(t, m)
			delete(body["properties"].(map[string]any), "model")
			body["required"] = slices.DeleteFunc(body["required"].([]any), func(v any) bool { return v == "model" })
		}, fails: true, want: []want{{level: breaking, op: opResult, pointer: ptrResult200 + "/properties/model",
			breaks: []specdiff.Party{client, contract}}}},
		{name: "optional response property removed under additionalProperties false", edit: func(t *testing.T, m map[string]any) {
			delete(result200(t, m)["properties"].(map[string]any), "finished")
		}, fails: true, want: []want{{level: breaking, op: opResult, pointer: ptrResult200 + "/properties/finished",
			rule: specdiff.RuleClosedResponsePropertyRemoved, breaks: []specdiff.Party{client, server}, reason: "still sends `finished`"}}},
		{name: "response enum value removed", edit: func(t *testing.T, m map[string]any) {
			st := result200(t, m)["properties"].(map[string]any)["status"].(map[string]any)
			st["enum"] = slices.DeleteFunc(st["enum"].([]any), func(v any) bool { return v == "POSTPONED" })
		}, want: []want{{level: warning, op: opResult, pointer: ptrResult200 + "/properties/status",
			breaks: []specdiff.Party{server}, notBreaks: []specdiff.Party{client}, reason: "POSTPONED"}}},
		{name: "response property added under additionalProperties false", edit: func(t *testing.T, m map[string]any) {
			result200(t, m)["properties"].(map[string]any)["duration"] = map[string]any{"type": "number"}
		}, fails: true, want: []want{{level: breaking, op: opResult, pointer: ptrResult200 + "/properties/duration",
			rule: specdiff.RuleClosedResponseProperty, breaks: []specdiff.Party{client, contract}, notBreaks: []specdiff.Party{server},
			reason: "additionalProperties: false"}}},
		{name: "response property added to an open schema", editBoth: func(t *testing.T, m map[string]any) {
			delete(result200(t, m), "additionalProperties")
		}, edit: func(t *testing.T, m map[string]any) {
			body := result200(t, m)
			body["properties"].(map[string]any)["duration"] = map[string]any{"type": "number"}
		}, want: []want{{level: info, op: opResult, pointer: ptrResult200 + "/properties/duration",
			notBreaks: []specdiff.Party{client, server, contract}}}},
		{name: "status value added", edit: func(t *testing.T, m map[string]any) {
			st := result200(t, m)["properties"].(map[string]any)["status"].(map[string]any)
			st["enum"] = append(st["enum"].([]any), "CANCELLED")
		}, fails: true, want: []want{{level: breaking, op: opResult, pointer: ptrResult200 + "/properties/status/enum",
			rule: specdiff.RuleStatusAdded, breaks: []specdiff.Party{client, contract}, reason: "Wait cannot know whether \"CANCELLED\" is terminal"}}},
		{name: "maxLength lowered", edit: func(t *testing.T, m map[string]any) {
			createBody(t, m)["properties"].(map[string]any)["input"].(map[string]any)["maxLength"] = 1000
		}, fails: true, want: []want{{level: breaking, op: opCreate, pointer: ptrCreateBody + "/properties/input/maxLength",
			rule: specdiff.RuleRequestTighter, breaks: []specdiff.Party{client, contract}, notBreaks: []specdiff.Party{server},
			reason: "maxLength lowered from 4096 to 1000"}}},
		{name: "maxLength raised", edit: func(t *testing.T, m map[string]any) {
			createBody(t, m)["properties"].(map[string]any)["input"].(map[string]any)["maxLength"] = 8192
		}, want: []want{{level: warning, op: opCreate, pointer: ptrCreateBody + "/properties/input/maxLength",
			rule: specdiff.RuleRequestLooser, breaks: []specdiff.Party{server, contract}, notBreaks: []specdiff.Party{client},
			reason: "maxLength raised from 4096 to 8192"}}},
		{name: "maximum lowered", edit: func(t *testing.T, m map[string]any) {
			createBody(t, m)["properties"].(map[string]any)["temperature"].(map[string]any)["maximum"] = 0.9
		}, fails: true, want: []want{{level: breaking, op: opCreate, pointer: ptrCreateBody + "/properties/temperature/maximum",
			rule: specdiff.RuleRequestTighter, breaks: []specdiff.Party{client}, notBreaks: []specdiff.Party{server}}}},
		{name: "request enum value removed", edit: func(t *testing.T, m map[string]any) {
			voice := createBody(t, m)["properties"].(map[string]any)["voice"].(map[string]any)
			voice["anyOf"].([]any)[0].(map[string]any)["enum"] = []any{"leo"}
		}, fails: true, want: []want{{level: breaking, op: opCreate, pointer: ptrCreateBody + "/properties/voice/anyOf/0/enum",
			rule: specdiff.RuleRequestTighter, breaks: []specdiff.Party{client}, reason: `enum value "nora" removed`}}},
		{name: "request enum value added", edit: func(t *testing.T, m map[string]any) {
			model := createBody(t, m)["properties"].(map[string]any)["model"].(map[string]any)
			model["enum"] = append(model["enum"].([]any), "Chatterbox-2")
		}, want: []want{{level: warning, op: opCreate, pointer: ptrCreateBody + "/properties/model/enum",
			rule: specdiff.RuleRequestLooser, breaks: []specdiff.Party{server}, notBreaks: []specdiff.Party{client}}}},
		{name: "id pattern changed", edit: func(t *testing.T, m map[string]any) {
			resultBody(t, m)["properties"].(map[string]any)["id"].(map[string]any)["pattern"] = "^[a-z0-9]{26}$"
		}, fails: true, want: []want{{level: breaking, op: opResult, pointer: ptrResultBody + "/properties/id/pattern",
			rule: specdiff.RuleIDPattern, breaks: []specdiff.Party{client, server, contract}, reason: "check ids before sending"}}},
		{name: "path removed", edit: func(t *testing.T, m map[string]any) {
			delete(at(t, m, "paths"), resultPath)
		}, fails: true, want: []want{{level: breaking, op: opResult, pointer: "/paths/~1async~1speech~1result",
			breaks: []specdiff.Party{client, contract}}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			oldDoc, newDoc := base(t), base(t)
			if tc.editBoth != nil {
				tc.editBoth(t, oldDoc)
				tc.editBoth(t, newDoc)
			}
			tc.edit(t, newDoc)
			r, err := specdiff.Compare(parse(t, "old.json", oldDoc), parse(t, "new.json", newDoc))
			if err != nil {
				t.Fatal(err)
			}
			var text strings.Builder
			if err := r.WriteText(&text); err != nil {
				t.Fatal(err)
			}
			if got := r.Fails(breaking); got != tc.fails {
				t.Errorf("Fails(breaking) = %v, want %v; report:\n%s", got, tc.fails, text.String())
			}
			if len(tc.want) == 0 && len(r.Changes) > 0 {
				t.Errorf("got %d changes, want none:\n%s", len(r.Changes), text.String())
			}
			for _, w := range tc.want {
				i := slices.IndexFunc(r.Changes, func(c specdiff.Change) bool {
					return c.Pointer == w.pointer && (w.rule == "" || c.Rule == w.rule)
				})
				if i < 0 {
					t.Errorf("no change at %s (rule %q); report:\n%s", w.pointer, w.rule, text.String())
					continue
				}
				c := r.Changes[i]
				if c.Level != w.level {
					t.Errorf("%s: got level %s, want %s", w.pointer, c.Level, w.level)
				}
				if c.OperationID != w.op {
					t.Errorf("%s: got operation %q, want %s", w.pointer, c.Operation(), w.op)
				}
				var parties []specdiff.Party
				all := c.Message
				for _, im := range c.Breaks {
					parties = append(parties, im.Party)
					all += "\n" + im.Reason
				}
				for _, p := range w.breaks {
					if !slices.Contains(parties, p) {
						t.Errorf("%s: breaks %v, want it to name %s", w.pointer, parties, p)
					}
				}
				for _, p := range w.notBreaks {
					if slices.Contains(parties, p) {
						t.Errorf("%s: breaks %v, want it not to name %s", w.pointer, parties, p)
					}
				}
				if !strings.Contains(all, w.reason) {
					t.Errorf("%s: message and reasons %q do not say %q", w.pointer, all, w.reason)
				}
			}
			// One change is reported once: this package's rules replace
			// oasdiff's finding of the same change.
			seen := map[string]string{}
			for _, c := range r.Changes {
				key := c.Pointer + " " + string(c.Level)
				if prev, dup := seen[key]; dup && c.Pointer != "" {
					t.Errorf("two changes at %s: %q and %q", c.Pointer, prev, c.Message)
				}
				seen[key] = c.Message
			}
		})
	}
}
