package specdiff

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/oasdiff/oasdiff/checker"
)

// fromOasdiff turns one oasdiff finding into a Change: its level, the
// parties it breaks and the JSON pointer of what changed.
func fromOasdiff(f checker.Change, loc checker.Localizer, old, new *openapi3.T) Change {
	c := Change{
		Rule:        f.GetId(),
		Method:      f.GetOperation(),
		Path:        f.GetPath(),
		OperationID: f.GetOperationId(),
		Message:     f.GetUncolorizedText(loc),
	}
	if comment := f.GetComment(loc); comment != "" {
		c.Message += ". " + comment
	}
	c.Level, c.Breaks = classify(f.GetId(), oasdiffLevel(f.GetLevel()), c.Message)
	c.Pointer = locate(f, old, new)
	return c
}

func oasdiffLevel(l checker.Level) Level {
	switch {
	case l >= checker.ERR:
		return LevelBreaking
	case l >= checker.WARN:
		return LevelWarning
	}
	return LevelInfo
}

// classify says whom an oasdiff finding breaks, from the side of the
// exchange it concerns (the rule id's prefix) and oasdiff's level. oasdiff
// rates a change by what it does to clients; this API also has servers
// implementing it and a contract suite judging them, and a change that is
// harmless to clients (a looser request rule) is exactly the one that
// breaks them, so such changes rise from info to warning.
func classify(rule string, level Level, msg string) (Level, []Impact) {
	has := func(s ...string) bool {
		return slices.ContainsFunc(s, func(x string) bool { return strings.Contains(rule, x) })
	}
	switch {
	case has("api-path-removed", "api-removed", "endpoint-removed"):
		return level, []Impact{
			{PartyClient, "calls to the operation fail"},
			{PartyContract, "its checks of the operation fail"},
		}
	case has("deprecated", "sunset", "stability", "-comment", "read-only", "write-only", "operation-id", "tag-", "api-version"):
		// Bookkeeping: documentation of intent, not of what is exchanged.
		return level, nil
	case strings.HasPrefix(rule, "request-") || strings.HasPrefix(rule, "new-") && has("request"):
		if level.AtLeast(LevelWarning) {
			return level, []Impact{
				{PartyClient, "programs may send requests the new document refuses: " + msg},
				{PartyContract, "the requests it derives from the old document as valid may now be refused"},
			}
		}
		// A looser request rule: what clients may now send, servers built
		// from the old document refuse.
		return LevelWarning, []Impact{
			{PartyServer, "speechd validates requests against its copy of openapi.json and refuses what the new document allows here, until it is regenerated"},
			{PartyContract, "a negative check derived from the old document may expect a refusal the new document no longer asks for"},
		}
	case strings.HasPrefix(rule, "response-"):
		if level.AtLeast(LevelWarning) {
			return level, []Impact{
				{PartyClient, "programs may get answers they were not written for: " + msg},
				{PartyContract, "its conformance checks judge answers by the old document and may fail a server that follows the new one"},
			}
		}
		if has("required-property-added", "became-required") {
			return LevelWarning, []Impact{
				{PartyServer, "speechd does not send it until it implements the new document; programs built on the new one may rely on it"},
			}
		}
		// A narrower answer is safe for clients, but a server built from
		// the old document may still send what the new one forbids.
		if has("removed", "decreased", "-set", "became-not-nullable", "became-enum", "specialized", "narrowed", "min-increased", "min-length-increased", "min-items-increased") {
			return LevelWarning, []Impact{
				{PartyServer, "speechd, on the old document, may still send what the new one forbids here: " + msg},
			}
		}
		return level, nil
	case has("api-path-added", "endpoint-added"):
		return LevelWarning, []Impact{
			{PartyServer, "speechd does not serve the new operation"},
		}
	case level.AtLeast(LevelWarning):
		return level, []Impact{{PartyClient, msg}}
	}
	return level, nil
}

// locate finds the JSON pointer of an oasdiff finding. oasdiff names the
// operation and, in its arguments, the property (as "a/b" for nested ones
// and "x/anyOf[subschema #1]" below a combinator) and the response status;
// the pointer is the deepest schema those resolve to in the new document, or
// in the old one for something removed. Without a property it points at the
// request body, the response or the operation.
func locate(f checker.Change, old, new *openapi3.T) string {
	if f.GetPath() == "" {
		return ""
	}
	op := "/paths/" + escape(f.GetPath())
	if f.GetOperation() != "" {
		op += "/" + strings.ToLower(f.GetOperation())
	}
	rule := f.GetId()
	var strs []string
	status := ""
	for _, a := range f.GetArgs() {
		s := fmt.Sprint(a)
		strs = append(strs, s)
		if n, err := strconv.Atoi(s); err == nil && n >= 100 && n < 600 && status == "" {
			status = s
		}
	}
	fallback := ""
	for _, doc := range []*openapi3.T{new, old} {
		var base string
		var schema *openapi3.Schema
		switch {
		case strings.HasPrefix(rule, "request-") || strings.HasPrefix(rule, "new-") && strings.Contains(rule, "request"):
			base, schema = requestSchema(doc, f.GetPath(), f.GetOperation())
		case strings.HasPrefix(rule, "response-"):
			base, schema = responseSchema(doc, f.GetPath(), f.GetOperation(), status)
		default:
			continue
		}
		if schema == nil {
			continue
		}
		for _, s := range strs {
			if p, ok := resolve(schema, s); ok {
				return op + base + p
			}
		}
		if fallback == "" {
			fallback = op + base
		}
	}
	if fallback != "" {
		return fallback
	}
	if new.Paths == nil || new.Paths.Find(f.GetPath()) == nil {
		return "/paths/" + escape(f.GetPath())
	}
	return op
}

// jsonBody picks the JSON media type of a content map.
func jsonBody(c openapi3.Content) (string, *openapi3.Schema) {
	for _, name := range []string{"application/json", "application/json; charset=utf-8"} {
		if mt := c.Get(name); mt != nil && mt.Schema != nil && mt.Schema.Value != nil {
			return "/content/" + escape(name) + "/schema", mt.Schema.Value
		}
	}
	return "", nil
}

func operation(doc *openapi3.T, path, method string) *openapi3.Operation {
	if doc == nil || doc.Paths == nil {
		return nil
	}
	item := doc.Paths.Value(path)
	if item == nil {
		return nil
	}
	return item.GetOperation(strings.ToUpper(method))
}

// requestSchema returns the pointer (below the operation) and the schema of
// an operation's JSON request body.
func requestSchema(doc *openapi3.T, path, method string) (string, *openapi3.Schema) {
	op := operation(doc, path, method)
	if op == nil || op.RequestBody == nil || op.RequestBody.Value == nil {
		return "", nil
	}
	p, s := jsonBody(op.RequestBody.Value.Content)
	if s == nil {
		return "/requestBody", nil
	}
	return "/requestBody" + p, s
}

// responseSchema does the same for the response with the given status
// (the first 2xx when status is empty).
func responseSchema(doc *openapi3.T, path, method, status string) (string, *openapi3.Schema) {
	op := operation(doc, path, method)
	if op == nil || op.Responses == nil {
		return "", nil
	}
	if status == "" {
		for _, code := range slices.Sorted(func(yield func(string) bool) {
			for k := range op.Responses.Map() {
				if !yield(k) {
					return
				}
			}
		}) {
			if strings.HasPrefix(code, "2") {
				status = code
				break
			}
		}
	}
	r := op.Responses.Value(status)
	if r == nil || r.Value == nil {
		return "", nil
	}
	p, s := jsonBody(r.Value.Content)
	return "/responses/" + escape(status) + p, s
}

var subschema = regexp.MustCompile(`^(anyOf|oneOf|allOf)\[subschema #(\d+)[^\]]*\]$`)

// resolve follows an oasdiff property name ("input", "results/items/url",
// "voice/anyOf[subschema #1]") through s and returns its pointer below s.
func resolve(s *openapi3.Schema, name string) (string, bool) {
	if name == "" {
		return "", false
	}
	var p strings.Builder
	for _, seg := range strings.Split(name, "/") {
		switch m := subschema.FindStringSubmatch(seg); {
		case s.Properties[seg] != nil && s.Properties[seg].Value != nil:
			p.WriteString("/properties/" + escape(seg))
			s = s.Properties[seg].Value
		case seg == "items" && s.Items != nil && s.Items.Value != nil:
			p.WriteString("/items")
			s = s.Items.Value
		case m != nil:
			i, _ := strconv.Atoi(m[2])
			list := map[string]openapi3.SchemaRefs{"anyOf": s.AnyOf, "oneOf": s.OneOf, "allOf": s.AllOf}[m[1]]
			if i < 1 || i > len(list) || list[i-1].Value == nil {
				return "", false
			}
			fmt.Fprintf(&p, "/%s/%d", m[1], i-1)
			s = list[i-1].Value
		default:
			return "", false
		}
	}
	return p.String(), true
}

// escape escapes one JSON pointer token (RFC 6901).
func escape(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "~", "~0"), "/", "~1")
}
