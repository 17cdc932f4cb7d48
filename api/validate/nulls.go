package validate

import (
	"bytes"
	"encoding/json"
	"sort"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/routers"
)

// explicitNull returns the path of the first property of a JSON request
// body that is an explicit null where its schema does not allow null, and
// whether there is one.
//
// kin-openapi, asked to fill in defaults, treats an explicit null like a
// missing property and writes the default over it before validating, so
// {"stream": null} would be accepted as {"stream": false} although the
// schema says boolean. The contract suite's generated inputs found this.
func explicitNull(rt *routers.Route, data []byte) (string, bool) {
	if rt == nil || rt.Operation == nil || rt.Operation.RequestBody == nil || rt.Operation.RequestBody.Value == nil {
		return "", false
	}
	mt := rt.Operation.RequestBody.Value.Content.Get("application/json")
	if mt == nil || mt.Schema == nil || mt.Schema.Value == nil {
		return "", false
	}
	// Decoding costs allocations on every request; a body without the
	// literal null anywhere cannot hold one.
	if !bytes.Contains(data, []byte("null")) {
		return "", false
	}
	var v any
	if err := json.Unmarshal(data, &v); err != nil {
		return "", false // the schema check reports malformed JSON
	}
	return nullIn(mt.Schema.Value, v, "")
}

func nullIn(s *openapi3.Schema, v any, path string) (string, bool) {
	obj, ok := v.(map[string]any)
	if !ok || s == nil {
		return "", false
	}
	names := make([]string, 0, len(obj))
	for name := range obj {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		p := s.Properties[name]
		if p == nil || p.Value == nil {
			continue // additionalProperties is the schema check's business
		}
		at := name
		if path != "" {
			at = path + "." + name
		}
		if obj[name] == nil {
			if !allowsNull(p.Value) {
				return at, true
			}
			continue
		}
		if at, found := nullIn(p.Value, obj[name], at); found {
			return at, true
		}
	}
	return "", false
}

// allowsNull reports whether s, or one of its anyOf/oneOf branches, accepts
// null (nullable: true, or type null in OpenAPI 3.1).
func allowsNull(s *openapi3.Schema) bool {
	if s.Nullable || s.Type.Includes(openapi3.TypeNull) {
		return true
	}
	for _, b := range append(append(openapi3.SchemaRefs(nil), s.AnyOf...), s.OneOf...) {
		if b.Value != nil && allowsNull(b.Value) {
			return true
		}
	}
	return false
}
