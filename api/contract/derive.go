package contract

import (
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"sort"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/google/uuid"
)

// sampleText is the input of the tasks the suite creates: short, so a task
// on a paid service costs as little as it can.
const sampleText = "Contract suite check: hello."

// example builds a value that satisfies schema. With full set it includes
// every optional property and prefers non-default values, so the server sees
// each field exercised; otherwise it includes only required properties.
func example(s *openapi3.Schema, full bool) (any, error) {
	if s == nil {
		return nil, fmt.Errorf("no schema")
	}
	if len(s.AnyOf) > 0 {
		return example(s.AnyOf[0].Value, full)
	}
	if len(s.OneOf) > 0 {
		return example(s.OneOf[0].Value, full)
	}
	if len(s.Enum) > 0 {
		if full {
			return s.Enum[len(s.Enum)-1], nil
		}
		return s.Enum[0], nil
	}
	switch {
	case s.Type.Is(openapi3.TypeObject):
		obj := map[string]any{}
		names := make([]string, 0, len(s.Properties))
		for name := range s.Properties {
			names = append(names, name)
		}
		sort.Strings(names)
		for _, name := range names {
			if !full && !contains(s.Required, name) {
				continue
			}
			v, err := example(s.Properties[name].Value, full)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", name, err)
			}
			obj[name] = v
		}
		return obj, nil
	case s.Type.Is(openapi3.TypeString):
		return exampleString(s)
	case s.Type.Is(openapi3.TypeNumber), s.Type.Is(openapi3.TypeInteger):
		if s.Default != nil && !full {
			return s.Default, nil
		}
		v := 0.5
		if s.Min != nil && s.Max != nil {
			v = *s.Min + (*s.Max-*s.Min)*0.3
		} else if s.Min != nil {
			v = *s.Min + 1
		} else if s.Max != nil {
			v = *s.Max - 1
		}
		if s.Type.Is(openapi3.TypeInteger) {
			v = math.Round(v)
		}
		return v, nil
	case s.Type.Is(openapi3.TypeBoolean):
		if b, ok := s.Default.(bool); ok {
			return b, nil
		}
		return false, nil
	case s.Type.Is(openapi3.TypeArray):
		return []any{}, nil
	}
	return nil, fmt.Errorf("cannot build an example for schema of type %v", s.Type)
}

func exampleString(s *openapi3.Schema) (any, error) {
	if s.Pattern != "" {
		re, err := regexp.Compile(s.Pattern)
		if err != nil {
			return nil, fmt.Errorf("pattern %q: %w", s.Pattern, err)
		}
		// The only patterned field of this API is a task id; a fresh UUIDv4 is
		// both valid and certainly unknown to the server.
		for _, c := range []string{uuid.NewString(), sampleText} {
			if re.MatchString(c) {
				return c, nil
			}
		}
		return nil, fmt.Errorf("no example matches pattern %q", s.Pattern)
	}
	v := sampleText
	for uint64(len(v)) < s.MinLength {
		v += "a"
	}
	if s.MaxLength != nil && uint64(len(v)) > *s.MaxLength {
		v = v[:*s.MaxLength]
	}
	return v, nil
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// negativeCase is one request the server must refuse with a 4xx.
type negativeCase struct {
	// name is "<field>.<rule>", the rule named for the schema keyword broken.
	name        string
	description string
	contentType string
	body        []byte
}

// deriveNegatives walks op's request schema and returns one invalid request
// per rule it finds: each required field missing, each property with a wrong
// type, each bound crossed by one step, each pattern and enum broken,
// additionalProperties added, plus the whole-body cases (wrong content type,
// empty, malformed JSON, not an object). Every derived body is confirmed
// invalid against the schema itself before it is kept, so a case the spec
// would accept (e.g. an enum inside an anyOf with a free string branch) is
// never sent.
func deriveNegatives(op *operation) ([]negativeCase, error) {
	fullV, err := example(op.body, true)
	if err != nil {
		return nil, fmt.Errorf("contract: example body for %s: %w", op.id, err)
	}
	full, ok := fullV.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("contract: request body of %s is not an object", op.id)
	}
	if err := validateRequestValue(op.body, full); err != nil {
		return nil, fmt.Errorf("contract: derived example body for %s is itself invalid: %w", op.id, err)
	}
	minimal, err := example(op.body, false)
	if err != nil {
		return nil, fmt.Errorf("contract: minimal body for %s: %w", op.id, err)
	}
	minimalJSON, _ := json.Marshal(minimal)

	var out []negativeCase
	addValue := func(name, desc string, v any) {
		if validateRequestValue(op.body, v) == nil {
			return // the spec accepts it: not a negative case
		}
		b, err := json.Marshal(v)
		if err != nil {
			return
		}
		out = append(out, negativeCase{name: name, description: desc, contentType: "application/json", body: b})
	}
	walkObject(op.body, nil, full, addValue)

	out = append(out,
		negativeCase{name: "body.content-type", description: "a valid body sent as text/plain", contentType: "text/plain", body: minimalJSON},
		negativeCase{name: "body.empty", description: "an empty body", contentType: "application/json", body: nil},
		negativeCase{name: "body.malformed-json", description: "JSON cut off mid-object", contentType: "application/json", body: minimalJSON[:len(minimalJSON)/2]},
	)
	addValue("body.type", "a JSON array where an object is required", []any{})
	// Past the reference server's 1 MiB body limit (and far past the schema's
	// bounds): a server must refuse it with 413 or 400, not fall over, and
	// must keep serving the connection's next request.
	if name, ok := firstRequiredString(op.body); ok {
		if m, ok := minimal.(map[string]any); ok {
			big := mutate(m, []string{name}, strings.Repeat("a", oversizedBytes), false)
			addValue("body.oversized", fmt.Sprintf("a body over 1 MiB (%s of %d characters)", name, oversizedBytes), big)
		}
	}
	return out, nil
}

// oversizedBytes is the size of the body.oversized case.
const oversizedBytes = 1<<20 + 64<<10

// firstRequiredString names the first required string property (in name
// order) of an object schema.
func firstRequiredString(s *openapi3.Schema) (string, bool) {
	names := append([]string(nil), s.Required...)
	sort.Strings(names)
	for _, n := range names {
		if p := s.Properties[n]; p != nil && p.Value != nil && p.Value.Type.Is(openapi3.TypeString) {
			return n, true
		}
	}
	return "", false
}

// walkObject derives the property-level cases of one object schema at path.
func walkObject(s *openapi3.Schema, path []string, base map[string]any, add func(name, desc string, v any)) {
	field := func(p []string) string {
		if len(p) == 0 {
			return "body"
		}
		return strings.Join(p, ".")
	}
	for _, req := range s.Required {
		p := appendPath(path, req)
		add(field(p)+".required", fmt.Sprintf("required field %s missing", field(p)), mutate(base, p, nil, true))
	}
	if ap := s.AdditionalProperties.Has; ap != nil && !*ap {
		p := appendPath(path, "contract_unexpected")
		add(field(path)+".additionalProperties", fmt.Sprintf("undeclared property %s added", field(p)), mutate(base, p, true, false))
	}
	names := make([]string, 0, len(s.Properties))
	for name := range s.Properties {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		ps := s.Properties[name].Value
		if ps == nil {
			continue
		}
		p := appendPath(path, name)
		f := field(p)
		if v, ok := wrongType(ps); ok {
			add(f+".type", fmt.Sprintf("%s as %s", f, jsonType(v)), mutate(base, p, v, false))
		}
		if ps.Type.Is(openapi3.TypeString) {
			if ps.MinLength > 0 {
				n := int(ps.MinLength) - 1
				add(f+".minLength", fmt.Sprintf("%s of %d characters (minLength %d)", f, n, ps.MinLength), mutate(base, p, strings.Repeat("a", n), false))
			}
			if ps.MaxLength != nil {
				n := int(*ps.MaxLength) + 1
				add(f+".maxLength", fmt.Sprintf("%s of %d characters (maxLength %d)", f, n, *ps.MaxLength), mutate(base, p, strings.Repeat("a", n), false))
			}
			if ps.Pattern != "" {
				add(f+".pattern", fmt.Sprintf("%s not matching %s", f, ps.Pattern), mutate(base, p, "contract-not-matching", false))
				if orig, ok := lookup(base, p).(string); ok {
					if near, ok := nearMiss(orig, ps.Pattern); ok {
						add(f+".pattern-near-miss", fmt.Sprintf("%s one character off the pattern: %q", f, near), mutate(base, p, near, false))
					}
				}
			}
			if len(ps.Enum) > 0 {
				add(f+".enum", fmt.Sprintf("%s outside its enum", f), mutate(base, p, fmt.Sprint(ps.Enum[0])+"-not-in-enum", false))
			}
		}
		if ps.Type.Is(openapi3.TypeNumber) || ps.Type.Is(openapi3.TypeInteger) {
			step := 0.001
			if ps.Type.Is(openapi3.TypeInteger) {
				step = 1
			}
			if ps.Min != nil {
				v := *ps.Min - step
				if ps.ExclusiveMin.Bool != nil && *ps.ExclusiveMin.Bool {
					v = *ps.Min
				}
				add(f+".minimum", fmt.Sprintf("%s = %g (minimum %g)", f, v, *ps.Min), mutate(base, p, v, false))
			}
			if ps.Max != nil {
				v := *ps.Max + step
				if ps.ExclusiveMax.Bool != nil && *ps.ExclusiveMax.Bool {
					v = *ps.Max
				}
				add(f+".maximum", fmt.Sprintf("%s = %g (maximum %g)", f, v, *ps.Max), mutate(base, p, v, false))
			}
		}
		if ps.Type.Is(openapi3.TypeObject) {
			walkObject(ps, p, base, add)
		}
	}
}

func appendPath(path []string, name string) []string {
	return append(append([]string(nil), path...), name)
}

// nearMiss changes one alphanumeric character of a valid value to '0' (or
// '1') and returns the first such variant the pattern rejects: for a UUIDv4
// this is the version digit, the most likely mistake of a lax server.
func nearMiss(valid, pattern string) (string, bool) {
	re, err := regexp.Compile(pattern)
	if err != nil {
		return "", false
	}
	b := []byte(valid)
	for i, c := range b {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			continue
		}
		repl := byte('0')
		if c == '0' {
			repl = '1'
		}
		m := append([]byte(nil), b...)
		m[i] = repl
		if !re.Match(m) {
			return string(m), true
		}
	}
	return "", false
}

// wrongType returns a value whose JSON type the schema (and all its anyOf /
// oneOf branches) does not allow.
func wrongType(s *openapi3.Schema) (any, bool) {
	allowed := map[string]bool{}
	var collect func(*openapi3.Schema)
	collect = func(s *openapi3.Schema) {
		if s == nil {
			return
		}
		for _, t := range s.Type.Slice() {
			allowed[t] = true
		}
		for _, b := range append(append(openapi3.SchemaRefs(nil), s.AnyOf...), s.OneOf...) {
			collect(b.Value)
		}
	}
	collect(s)
	if len(allowed) == 0 {
		return nil, false
	}
	if allowed[openapi3.TypeNumber] {
		allowed[openapi3.TypeInteger] = true
	}
	candidates := []struct {
		typ string
		v   any
	}{
		{openapi3.TypeInteger, float64(12345)},
		{openapi3.TypeString, "0.5"},
		{openapi3.TypeBoolean, true},
		{openapi3.TypeObject, map[string]any{}},
		{openapi3.TypeArray, []any{}},
	}
	for _, c := range candidates {
		if !allowed[c.typ] {
			return c.v, true
		}
	}
	return nil, false
}

func jsonType(v any) string {
	switch v.(type) {
	case string:
		return "a string"
	case bool:
		return "a boolean"
	case map[string]any:
		return "an object"
	case []any:
		return "an array"
	default:
		return "a number"
	}
}

// mutate returns a deep copy of base with the value at path set to v, or
// removed when remove is set.
func mutate(base map[string]any, path []string, v any, remove bool) map[string]any {
	out := deepCopy(base).(map[string]any)
	cur := out
	for i, key := range path {
		if i == len(path)-1 {
			if remove {
				delete(cur, key)
			} else {
				cur[key] = v
			}
			break
		}
		next, ok := cur[key].(map[string]any)
		if !ok {
			next = map[string]any{}
			cur[key] = next
		}
		cur = next
	}
	return out
}

func lookup(base map[string]any, path []string) any {
	var cur any = base
	for _, key := range path {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = m[key]
	}
	return cur
}

func deepCopy(v any) any {
	switch t := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(t))
		for k, e := range t {
			m[k] = deepCopy(e)
		}
		return m
	case []any:
		s := make([]any, len(t))
		for i, e := range t {
			s[i] = deepCopy(e)
		}
		return s
	default:
		return v
	}
}
