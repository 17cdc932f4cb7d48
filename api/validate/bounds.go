package validate

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"

	asyncspeech "github.com/distributeai/asyncspeech"
)

// Bounds derived from the request schemas. kin-openapi decodes a body into
// map[string]any before it walks the schema, so a body of many small
// objects costs tens of times its size in memory before the first
// undeclared property is found. Two things keep that in proportion:
//
//   - each operation gets a body limit: the largest body its schema can
//     accept, computed at start (BodyLimit), so nothing larger is read;
//   - before kin-openapi sees a body, Shape walks its bytes once against the
//     schema's structure and refuses what the schema can never accept
//     (undeclared properties where additionalProperties is false, an object
//     or array where the schema wants a scalar, null where it is not
//     nullable, nesting deeper than the schema). It allocates nothing for a
//     conforming body and checks no value rule (lengths, enums, patterns,
//     ranges): kin-openapi stays the validator of record for those and
//     still checks every body that passes.
const (
	// UnboundedStringChars is how many characters a string the schema
	// leaves without maxLength (voice as a file_id, the result call's id)
	// counts for in a body limit.
	UnboundedStringChars = 256
	// maxEscapedChar is the longest JSON encoding of one character: a
	// character outside the BMP written as an escaped surrogate pair,
	// \uD83D\uDE00.
	maxEscapedChar = 12
	// maxNumberBytes is the longest number a limit allows for: far beyond
	// any float64 written in full precision (24 bytes).
	maxNumberBytes = 32
	// bodySlack is added to every computed limit for white space and
	// key order; clients that pretty-print still fit.
	bodySlack = 1 << 10
	// anyValueBytes is what a value whose schema says nothing about its
	// type counts for.
	anyValueBytes = 4 << 10
)

// BodyLimit returns the largest request body, in bytes, that schema can
// accept when every string is at its longest in the worst JSON escaping,
// plus slack: the limit the server puts on that operation's body.
func BodyLimit(schema *openapi3.Schema) int64 {
	return valueBytes(schema, 0) + bodySlack
}

// valueBytes is the longest JSON encoding of a value of schema.
func valueBytes(s *openapi3.Schema, depth int) int64 {
	if s == nil || depth > 16 {
		return anyValueBytes
	}
	var n int64
	for _, alt := range slices.Concat(s.AnyOf, s.OneOf) {
		if alt.Value != nil {
			n = max(n, valueBytes(alt.Value, depth+1))
		}
	}
	if len(s.Enum) > 0 {
		for _, e := range s.Enum {
			b, _ := json.Marshal(e)
			n = max(n, int64(len(b))*maxEscapedChar/2) // an enum value may be sent escaped too
		}
		return n
	}
	switch {
	case s.Type.Is(openapi3.TypeString):
		chars := int64(UnboundedStringChars)
		if s.MaxLength != nil {
			chars = int64(*s.MaxLength)
		}
		n = max(n, 2+chars*maxEscapedChar)
	case s.Type.Is(openapi3.TypeNumber), s.Type.Is(openapi3.TypeInteger):
		n = max(n, maxNumberBytes)
	case s.Type.Is(openapi3.TypeBoolean):
		n = max(n, int64(len("false")))
	case s.Type.Is(openapi3.TypeObject) || len(s.Properties) > 0:
		obj := int64(2)
		for name, p := range s.Properties {
			key, _ := json.Marshal(name)
			obj += int64(len(key))*maxEscapedChar/2 + 2 + valueBytes(p.Value, depth+1)
		}
		n = max(n, obj)
	case s.Type.Is(openapi3.TypeArray):
		items := int64(16)
		if s.MaxItems != nil {
			items = int64(*s.MaxItems)
		}
		var item *openapi3.Schema
		if s.Items != nil {
			item = s.Items.Value
		}
		n = max(n, 2+items*(valueBytes(item, depth+1)+1))
	case n == 0:
		n = anyValueBytes
	}
	if s.Nullable {
		n = max(n, int64(len("null")))
	}
	return n
}

// ShapeError is a body whose structure its schema can never accept.
type ShapeError struct {
	// Path is the dotted field ("" for the body itself).
	Path string
	// Reason says what is wrong, fit for a client.
	Reason string
}

// Error returns "field: reason", or "request body: reason".
func (e *ShapeError) Error() string {
	if e.Path == "" {
		return "request body: " + e.Reason
	}
	return e.Path + ": " + e.Reason
}

// Shape checks the structure of body (valid JSON) against schema without
// decoding it: see the package's bounds comment. It returns nil or a
// *ShapeError.
func Shape(schema *openapi3.Schema, body []byte) error {
	if d := depth(body); d > maxAnyDepth {
		return &ShapeError{Reason: fmt.Sprintf("nested deeper than %d levels", maxAnyDepth)}
	}
	if !json.Valid(body) {
		return &ShapeError{Reason: "not valid JSON"}
	}
	sc := shapeScanner{data: body}
	sc.space()
	if err := sc.value(schema, "", 0); err != nil {
		return err
	}
	return nil
}

// maxAnyDepth bounds nesting anywhere in a body: checked before anything
// else reads it, since even json.Valid keeps a stack as deep as the body.
const maxAnyDepth = 32

// depth returns how deeply body's arrays and objects nest, skipping
// strings, without allocating. It does not check syntax.
func depth(body []byte) int {
	d, deepest := 0, 0
	for i := 0; i < len(body); i++ {
		switch body[i] {
		case '"':
			for i++; i < len(body) && body[i] != '"'; i++ {
				if body[i] == '\\' {
					i++
				}
			}
		case '{', '[':
			d++
			deepest = max(deepest, d)
		case '}', ']':
			d--
		}
	}
	return deepest
}

type shapeScanner struct {
	data []byte
	pos  int
}

func (s *shapeScanner) space() {
	for s.pos < len(s.data) {
		switch s.data[s.pos] {
		case ' ', '\t', '\n', '\r':
			s.pos++
		default:
			return
		}
	}
}

// kinds of JSON value a schema admits.
type kinds struct{ object, array, scalar, null, any bool }

func admitted(s *openapi3.Schema, depth int) kinds {
	if s == nil || depth > 16 {
		return kinds{any: true}
	}
	var k kinds
	alts := slices.Concat(s.AnyOf, s.OneOf, s.AllOf)
	for _, alt := range alts {
		a := admitted(alt.Value, depth+1)
		k.object, k.array, k.scalar, k.null, k.any = k.object || a.object, k.array || a.array, k.scalar || a.scalar, k.null || a.null, k.any || a.any
	}
	switch {
	case s.Type == nil || len(*s.Type) == 0:
		if len(alts) == 0 {
			if len(s.Properties) > 0 {
				k.object = true
			} else {
				k.any = true
			}
		}
	default:
		for _, t := range *s.Type {
			switch t {
			case openapi3.TypeObject:
				k.object = true
			case openapi3.TypeArray:
				k.array = true
			case openapi3.TypeNull:
				k.null = true
			default:
				k.scalar = true
			}
		}
	}
	if s.Nullable {
		k.null = true
	}
	return k
}

// mismatch words the refusal of a value of the wrong kind the way
// kin-openapi's messages do (schemaMessage), so a client sees one style.
func mismatch(schema *openapi3.Schema) string {
	if schema == nil {
		return "value does not match the schema"
	}
	if len(schema.AnyOf) > 0 || len(schema.OneOf) > 0 {
		return "value matches none of the allowed forms"
	}
	if schema.Type != nil && len(*schema.Type) == 1 {
		t := (*schema.Type)[0]
		article := "a"
		if strings.ContainsRune("aeiou", rune(t[0])) {
			article = "an"
		}
		return "value must be " + article + " " + t
	}
	return "value does not match the schema"
}

func join(path, name string) string {
	if len(name) > 64 {
		name = name[:64] + "…"
	}
	if path == "" {
		return name
	}
	return path + "." + name
}

// value checks the value at s.pos against schema and moves past it.
func (s *shapeScanner) value(schema *openapi3.Schema, path string, depth int) error {
	k := admitted(schema, 0)
	if s.pos >= len(s.data) {
		return &ShapeError{Path: path, Reason: "value is missing"}
	}
	c := s.data[s.pos]
	switch {
	case k.any:
		if depth > maxAnyDepth {
			return &ShapeError{Path: path, Reason: fmt.Sprintf("nested deeper than %d levels", maxAnyDepth)}
		}
		return s.skip(depth)
	case c == '{':
		if !k.object {
			return &ShapeError{Path: path, Reason: mismatch(schema)}
		}
		return s.object(objectSchema(schema), path, depth)
	case c == '[':
		if !k.array {
			return &ShapeError{Path: path, Reason: mismatch(schema)}
		}
		var item *openapi3.Schema
		if is := arraySchema(schema); is != nil && is.Items != nil {
			item = is.Items.Value
		}
		return s.array(item, path, depth)
	case c == 'n':
		if !k.null {
			if path == "" && k.object {
				return &ShapeError{Reason: "must be a JSON object"}
			}
			return &ShapeError{Path: path, Reason: "must not be null"}
		}
		s.pos += len("null")
		return nil
	default:
		if !k.scalar {
			return &ShapeError{Path: path, Reason: mismatch(schema)}
		}
		s.scalar()
		return nil
	}
}

// objectSchema and arraySchema pick the branch of a schema that describes an
// object or an array (itself, or its first such alternative).
func objectSchema(s *openapi3.Schema) *openapi3.Schema {
	if s == nil || s.Type.Is(openapi3.TypeObject) || len(s.Properties) > 0 {
		return s
	}
	for _, alt := range slices.Concat(s.AnyOf, s.OneOf, s.AllOf) {
		if alt.Value != nil && (alt.Value.Type.Is(openapi3.TypeObject) || len(alt.Value.Properties) > 0) {
			return alt.Value
		}
	}
	return nil
}

func arraySchema(s *openapi3.Schema) *openapi3.Schema {
	if s == nil || s.Type.Is(openapi3.TypeArray) {
		return s
	}
	for _, alt := range slices.Concat(s.AnyOf, s.OneOf, s.AllOf) {
		if alt.Value != nil && alt.Value.Type.Is(openapi3.TypeArray) {
			return alt.Value
		}
	}
	return nil
}

func (s *shapeScanner) object(schema *openapi3.Schema, path string, depth int) error {
	s.pos++ // {
	closed := schema != nil && schema.AdditionalProperties.Has != nil && !*schema.AdditionalProperties.Has
	var extra *openapi3.Schema
	if schema != nil && schema.AdditionalProperties.Schema != nil {
		extra = schema.AdditionalProperties.Schema.Value
	}
	var seen []string // declared properties met so far: each may appear once
	for first := true; ; first = false {
		s.space()
		if s.data[s.pos] == '}' {
			s.pos++
			return nil
		}
		if !first {
			s.pos++ // ,
			s.space()
		}
		name := s.key()
		s.space()
		s.pos++ // :
		s.space()
		var prop *openapi3.Schema
		known := false
		if schema != nil {
			if ref, ok := schema.Properties[name]; ok {
				prop, known = ref.Value, true
			}
		}
		switch {
		case known:
			if slices.Contains(seen, name) {
				return &ShapeError{Path: join(path, name), Reason: "property appears more than once"}
			}
			seen = append(seen, name)
		case closed:
			return &ShapeError{Path: path, Reason: fmt.Sprintf("property %s is unsupported", strconv.Quote(join("", name)))}
		case extra != nil:
			prop = extra
		}
		if err := s.value(prop, join(path, name), depth+1); err != nil {
			return err
		}
	}
}

func (s *shapeScanner) array(item *openapi3.Schema, path string, depth int) error {
	s.pos++ // [
	for i, first := 0, true; ; i, first = i+1, false {
		s.space()
		if s.data[s.pos] == ']' {
			s.pos++
			return nil
		}
		if !first {
			s.pos++ // ,
			s.space()
		}
		if err := s.value(item, join(path, strconv.Itoa(i)), depth+1); err != nil {
			return err
		}
	}
}

// key reads an object key. Only a key with escapes is decoded (and so
// allocates); the others are compared as they stand.
func (s *shapeScanner) key() string {
	start := s.pos
	s.str()
	raw := s.data[start:s.pos]
	if bytes.IndexByte(raw, '\\') < 0 {
		return string(raw[1 : len(raw)-1])
	}
	var name string
	_ = json.Unmarshal(raw, &name) // the body is valid JSON
	return name
}

// str moves past a string starting at s.pos.
func (s *shapeScanner) str() {
	s.pos++ // opening quote
	for s.pos < len(s.data) {
		switch s.data[s.pos] {
		case '\\':
			s.pos += 2
		case '"':
			s.pos++
			return
		default:
			s.pos++
		}
	}
}

// scalar moves past a string, number, true or false.
func (s *shapeScanner) scalar() {
	if s.data[s.pos] == '"' {
		s.str()
		return
	}
	for s.pos < len(s.data) {
		switch s.data[s.pos] {
		case ',', '}', ']', ' ', '\t', '\n', '\r':
			return
		}
		s.pos++
	}
}

// skip moves past any value, refusing nesting deeper than maxAnyDepth.
func (s *shapeScanner) skip(depth int) error {
	switch s.data[s.pos] {
	case '{':
		return s.object(nil, "", depth)
	case '[':
		return s.array(nil, "", depth)
	case 'n':
		s.pos += len("null")
	default:
		s.scalar()
	}
	return nil
}

// bodySchema returns the JSON request body schema of op, or nil.
func bodySchema(op *openapi3.Operation) *openapi3.Schema {
	if op == nil || op.RequestBody == nil || op.RequestBody.Value == nil {
		return nil
	}
	mt := op.RequestBody.Value.Content.Get("application/json")
	if mt == nil || mt.Schema == nil {
		return nil
	}
	return mt.Schema.Value
}

// BodyLimits returns BodyLimit of every operation of doc (nil: the
// embedded spec) that takes a JSON body, keyed "METHOD /path".
func BodyLimits(doc *openapi3.T) (map[string]int64, error) {
	if doc == nil {
		var err error
		if doc, err = asyncspeech.Spec(); err != nil {
			return nil, fmt.Errorf("validate: load embedded spec: %w", err)
		}
	}
	out := map[string]int64{}
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			if s := bodySchema(op); s != nil {
				out[method+" "+path] = BodyLimit(s)
			}
		}
	}
	return out, nil
}
