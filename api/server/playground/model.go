package playground

import (
	"cmp"
	"fmt"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"

	asyncspeech "github.com/distributeai/asyncspeech"
)

// view is everything the page template renders. It is built once, from the
// spec, when the handler is made: nothing about the API's fields, bounds or
// defaults is written in the HTML or the JavaScript.
type view struct {
	Title      string
	Version    string
	AuthHeader string // the API key header of the spec's security scheme
	Create     operation
	Result     operation
	Operations []operation // in path order, for the reference
	Controls   []control   // the playground form, from the create request body
}

// operation is one operation of the spec, for the reference.
type operation struct {
	ID          string
	Method      string
	Path        string
	Description string
	Body        []field // request body fields
	BodyNote    string  // the request body's own description
	BodyClosed  bool    // the body admits no properties but those listed
	Responses   []response
}

// response is one status an operation can answer with: documented in the
// spec, or one of this server's documented extensions.
type response struct {
	Status      string
	Description string
	Extension   bool
	Fields      []field
}

// field is one property of a schema, flattened (nested properties are
// named parent.child, array items parent[].child).
type field struct {
	Name        string
	Type        string
	Required    bool
	Rules       []string // bounds, lengths, pattern, "no other properties"
	Default     string
	Enum        []string
	Description string
}

// Kinds of form control the playground derives from a property's schema.
const (
	kindSelect   = "select"   // a string enum (or an anyOf offering one)
	kindTextarea = "textarea" // a free string
	kindRange    = "range"    // a number with both bounds: a slider
	kindNumber   = "number"   // a number without both bounds
	kindCheckbox = "checkbox" // a boolean
)

// control is one labelled input of the playground form.
type control struct {
	Name     string // the JSON property
	ID       string // the element id
	Label    string
	Kind     string
	JSONType string // string, number, integer or boolean: how the script encodes the value
	Options  []string
	Value    string // the spec's default, or the first option
	Checked  bool
	Min, Max string
	Step     string
	MinLen   string
	MaxLen   string
	Required bool
	Help     string
}

// buildView reads doc into the page's view. It fails when either of the two
// operations, or a JSON request body of one, is missing.
func buildView(doc *openapi3.T, extensions []Extension) (view, error) {
	v := view{AuthHeader: "authorization"}
	if doc.Info != nil {
		v.Title, v.Version = doc.Info.Title, doc.Info.Version
	}
	if doc.Components != nil {
		names := make([]string, 0, len(doc.Components.SecuritySchemes))
		for name := range doc.Components.SecuritySchemes {
			names = append(names, name)
		}
		slices.Sort(names)
		for _, name := range names {
			if s := doc.Components.SecuritySchemes[name].Value; s != nil && s.Type == "apiKey" && s.In == "header" && s.Name != "" {
				v.AuthHeader = s.Name
				break
			}
		}
	}
	if doc.Paths == nil {
		return v, fmt.Errorf("openapi document has no paths")
	}
	found := map[string]bool{}
	for _, path := range doc.Paths.InMatchingOrder() {
		item := doc.Paths.Value(path)
		ops := item.Operations()
		methods := make([]string, 0, len(ops))
		for m := range ops {
			methods = append(methods, m)
		}
		slices.Sort(methods)
		for _, method := range methods {
			op, err := buildOperation(path, method, ops[method], extensions)
			if err != nil {
				return v, err
			}
			switch op.ID {
			case asyncspeech.OperationCreate:
				v.Create = op
				found[op.ID] = true
				if v.Controls, err = buildControls(requestSchema(ops[method])); err != nil {
					return v, fmt.Errorf("operation %s: %w", op.ID, err)
				}
			case asyncspeech.OperationResult:
				v.Result = op
				found[op.ID] = true
			}
			v.Operations = append(v.Operations, op)
		}
	}
	for _, id := range []string{asyncspeech.OperationCreate, asyncspeech.OperationResult} {
		if !found[id] {
			return v, fmt.Errorf("openapi document has no operation %q", id)
		}
	}
	slices.SortFunc(v.Operations, func(a, b operation) int {
		return cmp.Or(cmp.Compare(a.Path, b.Path), cmp.Compare(a.Method, b.Method))
	})
	return v, nil
}

// requestSchema is the application/json request body schema of op, or nil.
func requestSchema(op *openapi3.Operation) *openapi3.Schema {
	if op.RequestBody == nil || op.RequestBody.Value == nil {
		return nil
	}
	mt := op.RequestBody.Value.Content.Get("application/json")
	if mt == nil || mt.Schema == nil {
		return nil
	}
	return mt.Schema.Value
}

func buildOperation(path, method string, op *openapi3.Operation, extensions []Extension) (operation, error) {
	o := operation{ID: op.OperationID, Method: method, Path: path, Description: op.Description}
	body := requestSchema(op)
	if body == nil {
		return o, fmt.Errorf("operation %s %s (%s): no application/json request body", method, path, op.OperationID)
	}
	o.Body = fields("", body)
	o.BodyNote = body.Description
	o.BodyClosed = body.AdditionalProperties.Has != nil && !*body.AdditionalProperties.Has
	if op.Responses != nil {
		for code, ref := range op.Responses.Map() {
			r := response{Status: code}
			if ref.Value != nil {
				if ref.Value.Description != nil {
					r.Description = *ref.Value.Description
				}
				if mt := ref.Value.Content.Get("application/json"); mt != nil && mt.Schema != nil {
					r.Fields = fields("", mt.Schema.Value)
				}
			}
			o.Responses = append(o.Responses, r)
		}
	}
	for _, e := range extensions {
		if e.Operation != "" && e.Operation != op.OperationID {
			continue
		}
		o.Responses = append(o.Responses, response{
			Status:      strconv.Itoa(e.Status),
			Description: e.When,
			Extension:   true,
			Fields:      []field{{Name: "message", Type: "string", Required: true}},
		})
	}
	slices.SortStableFunc(o.Responses, func(a, b response) int { return cmp.Compare(a.Status, b.Status) })
	return o, nil
}

// fields flattens the properties of an object schema s, in name order
// (a JSON object's properties have none), prefixing their names.
func fields(prefix string, s *openapi3.Schema) []field {
	if s == nil {
		return nil
	}
	names := make([]string, 0, len(s.Properties))
	for name := range s.Properties {
		names = append(names, name)
	}
	slices.Sort(names)
	var out []field
	for _, name := range names {
		ref := s.Properties[name]
		if ref == nil || ref.Value == nil {
			continue
		}
		p := ref.Value
		f := field{
			Name:        prefix + name,
			Type:        typeName(p),
			Required:    slices.Contains(s.Required, name),
			Rules:       rules(p),
			Default:     defaultOf(p),
			Enum:        enumOf(p),
			Description: p.Description,
		}
		out = append(out, f)
		switch {
		case p.Type.Is("object"):
			out = append(out, fields(f.Name+".", p)...)
		case p.Type.Is("array") && p.Items != nil && p.Items.Value != nil:
			out = append(out, fields(f.Name+"[].", p.Items.Value)...)
		}
	}
	return out
}

// typeName is a schema's type as a reader of the reference wants it:
// "string", "array of object", "string (enum) or string".
func typeName(s *openapi3.Schema) string {
	if len(s.AnyOf) > 0 || len(s.OneOf) > 0 {
		branches := s.AnyOf
		if len(branches) == 0 {
			branches = s.OneOf
		}
		var parts []string
		for _, b := range branches {
			if b.Value == nil {
				continue
			}
			t := typeName(b.Value)
			if len(b.Value.Enum) > 0 {
				t += " (" + strings.Join(enumOf(b.Value), ", ") + ")"
			}
			parts = append(parts, t)
		}
		return strings.Join(parts, " or ")
	}
	if s.Type == nil || len(s.Type.Slice()) == 0 {
		return "any"
	}
	t := strings.Join(s.Type.Slice(), " or ")
	if s.Type.Is("array") && s.Items != nil && s.Items.Value != nil {
		t += " of " + typeName(s.Items.Value)
	}
	return t
}

// rules lists the constraints of s other than its type, enum and default.
func rules(s *openapi3.Schema) []string {
	var out []string
	switch {
	case s.Min != nil && s.Max != nil:
		out = append(out, fmt.Sprintf("%s ≤ value ≤ %s", num(*s.Min), num(*s.Max)))
	case s.Min != nil:
		out = append(out, "≥ "+num(*s.Min))
	case s.Max != nil:
		out = append(out, "≤ "+num(*s.Max))
	}
	if s.MinLength > 0 || s.MaxLength != nil {
		r := fmt.Sprintf("length ≥ %d", s.MinLength)
		if s.MaxLength != nil {
			r = fmt.Sprintf("length %d–%d", s.MinLength, *s.MaxLength)
		}
		out = append(out, r)
	}
	if s.Pattern != "" {
		out = append(out, "pattern "+s.Pattern)
	}
	if s.Type.Is("object") && s.AdditionalProperties.Has != nil && !*s.AdditionalProperties.Has {
		out = append(out, "no other properties")
	}
	return out
}

// defaultOf is s's default, or that of the first anyOf/oneOf branch with one
// (the spec puts voice's default inside its anyOf).
func defaultOf(s *openapi3.Schema) string {
	if s.Default != nil {
		return jsonValue(s.Default)
	}
	for _, b := range append(append(openapi3.SchemaRefs{}, s.AnyOf...), s.OneOf...) {
		if b.Value != nil && b.Value.Default != nil {
			return jsonValue(b.Value.Default)
		}
	}
	return ""
}

// enumOf is s's enum, or the enum of its anyOf/oneOf branches.
func enumOf(s *openapi3.Schema) []string {
	var out []string
	for _, v := range s.Enum {
		out = append(out, jsonValue(v))
	}
	if len(out) > 0 {
		return out
	}
	for _, b := range append(append(openapi3.SchemaRefs{}, s.AnyOf...), s.OneOf...) {
		if b.Value != nil {
			for _, v := range b.Value.Enum {
				out = append(out, jsonValue(v))
			}
		}
	}
	return out
}

func jsonValue(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case float64:
		return num(v)
	default:
		return fmt.Sprint(v)
	}
}

func num(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

// buildControls derives the playground's form from the create request body:
// one labelled control for each property whose kind it knows.
func buildControls(body *openapi3.Schema) ([]control, error) {
	if body == nil {
		return nil, fmt.Errorf("no request body schema")
	}
	names := make([]string, 0, len(body.Properties))
	for name := range body.Properties {
		names = append(names, name)
	}
	// The vendor's create fields in the order a person fills them;
	// properties the spec may add later follow in name order.
	controlOrder := []string{"input", "voice", "model", "temperature", "exaggeration", "cfg_weight", "stream"}
	rank := func(n string) int {
		if i := slices.Index(controlOrder, n); i >= 0 {
			return i
		}
		return len(controlOrder)
	}
	slices.SortFunc(names, func(a, b string) int { return cmp.Or(cmp.Compare(rank(a), rank(b)), cmp.Compare(a, b)) })

	var out []control
	for _, name := range names {
		ref := body.Properties[name]
		if ref == nil || ref.Value == nil {
			continue
		}
		c, ok := buildControl(name, ref.Value, slices.Contains(body.Required, name))
		if ok {
			out = append(out, c)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("request body has no property the playground can offer")
	}
	return out, nil
}

func buildControl(name string, s *openapi3.Schema, required bool) (control, bool) {
	c := control{Name: name, ID: "f-" + strings.ReplaceAll(name, "_", "-"), Label: label(name), Required: required}
	def := defaultOf(s)
	switch {
	case len(enumOf(s)) > 0:
		c.Kind, c.JSONType, c.Options = kindSelect, "string", enumOf(s)
		c.Value = cmp.Or(def, c.Options[0])
	case s.Type.Is("string"):
		c.Kind, c.JSONType, c.Value = kindTextarea, "string", def
		if s.MinLength > 0 {
			c.MinLen = strconv.FormatUint(s.MinLength, 10)
		}
		if s.MaxLength != nil {
			c.MaxLen = strconv.FormatUint(*s.MaxLength, 10)
		}
	case s.Type.Is("number") || s.Type.Is("integer"):
		c.JSONType = "number"
		if s.Type.Is("integer") {
			c.JSONType = "integer"
		}
		c.Kind, c.Value = kindNumber, def
		if s.Min != nil {
			c.Min = num(*s.Min)
		}
		if s.Max != nil {
			c.Max = num(*s.Max)
		}
		c.Step = "any"
		if c.JSONType == "integer" {
			c.Step = "1"
		}
		if s.Min != nil && s.Max != nil && *s.Max > *s.Min {
			c.Kind = kindRange
			c.Step = num(step(*s.Min, *s.Max, c.JSONType == "integer"))
			if c.Value == "" {
				c.Value = num(*s.Min + (*s.Max-*s.Min)/2)
			}
		}
	case s.Type.Is("boolean"):
		c.Kind, c.JSONType = kindCheckbox, "boolean"
		c.Checked = def == "true"
	default:
		return c, false
	}
	c.Help = strings.Join(slices.DeleteFunc([]string{s.Description, hint(c)}, func(s string) bool { return s == "" }), " ")
	return c, true
}

// hint states a control's bounds and default in words, for its description.
func hint(c control) string {
	switch {
	case c.Kind == kindTextarea && c.MinLen != "" && c.MaxLen != "":
		return c.MinLen + " to " + c.MaxLen + " characters."
	case c.Kind == kindRange:
		return c.Min + " to " + c.Max + ", default " + c.Value + "."
	}
	return ""
}

// step is a slider step giving about a hundred positions between lo and hi,
// a power of ten so defaults such as 0.8 land on a position.
func step(lo, hi float64, integer bool) float64 {
	s := math.Pow(10, math.Floor(math.Log10((hi-lo)/100)))
	if integer {
		s = max(1, math.Round(s))
	}
	return s
}

// label is the visible name of a property: its own for those whose JSON
// name reads badly, else the name from snake_case to "Snake case".
func label(name string) string {
	switch name {
	case "input":
		return "Text"
	case "cfg_weight":
		return "CFG weight"
	}
	s := strings.ReplaceAll(name, "_", " ")
	return strings.ToUpper(s[:1]) + s[1:]
}

// statusText is "401 Unauthorized" for a status code string.
func statusText(code string) string {
	n, err := strconv.Atoi(code)
	if err != nil || http.StatusText(n) == "" {
		return code
	}
	return code + " " + http.StatusText(n)
}
