package validate

import (
	"bytes"
	"regexp"
	"strconv"
	"unicode/utf8"

	"github.com/getkin/kin-openapi/openapi3"
)

// The fast path: kin-openapi decodes every body into map[string]any and
// walks the schema generically, which costs more than the whole result call
// it checks. So each schema of the document is compiled once, at New, into
// a node tree that checks a JSON body in place, without decoding it.
//
// The fast path can only say "certainly valid". Whenever it is unsure (a
// string with escapes, a duplicate key, a missing property that has a
// default the request must get, a schema feature it does not compile) it
// answers no, and kin-openapi, the authority, validates the body and
// explains any error. FuzzFastAgreesWithKin checks that every body the fast
// path accepts is one kin-openapi accepts unchanged.

type kind uint8

const (
	kindAny kind = iota // no type: only anyOf applies
	kindObject
	kindString
	kindNumber
	kindBoolean
	kindArray
)

// node is one compiled schema.
type node struct {
	kind  kind
	anyOf []*node

	// object
	props      []prop
	required   uint64 // bit i: props[i] is required
	additional bool   // additionalProperties allowed

	// string
	enum     [][]byte
	minLen   int
	maxLen   int // -1: none
	pattern  *regexp.Regexp
	min, max *float64

	items *node
}

type prop struct {
	name       []byte
	node       *node
	hasDefault bool
}

// compile turns a schema into a node, or reports that it uses something the
// fast path does not check (then the operation has no fast path).
func compile(s *openapi3.Schema, depth int) (*node, bool) {
	if s == nil || depth > 32 {
		return nil, false
	}
	if s.Nullable || s.Not != nil || len(s.OneOf) > 0 || len(s.AllOf) > 0 || s.Format != "" ||
		s.ExclusiveMin.IsSet() || s.ExclusiveMax.IsSet() || s.MultipleOf != nil ||
		s.MinItems != 0 || s.MaxItems != nil || s.UniqueItems || s.MinProps != 0 || s.MaxProps != nil ||
		s.ReadOnly || s.WriteOnly || s.Discriminator != nil || s.Always != nil || s.AdditionalProperties.Schema != nil {
		return nil, false
	}
	n := &node{maxLen: -1}
	for _, ref := range s.AnyOf {
		c, ok := compile(ref.Value, depth+1)
		if !ok {
			return nil, false
		}
		n.anyOf = append(n.anyOf, c)
	}
	switch {
	case s.Type == nil || len(s.Type.Slice()) == 0:
		n.kind = kindAny
		if len(s.Properties) > 0 || s.Pattern != "" || len(s.Enum) > 0 || s.MinLength != 0 || s.MaxLength != nil || s.Min != nil || s.Max != nil || s.Items != nil {
			return nil, false
		}
		return n, true
	case len(s.Type.Slice()) > 1:
		return nil, false
	case s.Type.Is(openapi3.TypeObject):
		n.kind = kindObject
		if len(s.Properties) > 64 {
			return nil, false
		}
		for name, ref := range s.Properties {
			c, ok := compile(ref.Value, depth+1)
			if !ok {
				return nil, false
			}
			n.props = append(n.props, prop{name: []byte(name), node: c, hasDefault: ref.Value.Default != nil})
		}
		for _, r := range s.Required {
			i := n.prop([]byte(r))
			if i < 0 {
				return nil, false // a required property without a schema: leave it to kin
			}
			n.required |= 1 << i
		}
		n.additional = s.AdditionalProperties.Has == nil || *s.AdditionalProperties.Has
		if n.additional {
			return nil, false // unknown values would need a full skipper; the spec has none
		}
	case s.Type.Is(openapi3.TypeString):
		n.kind = kindString
		n.minLen = int(s.MinLength)
		if s.MaxLength != nil {
			n.maxLen = int(*s.MaxLength)
		}
		if s.Pattern != "" {
			re, err := regexp.Compile(s.Pattern)
			if err != nil {
				return nil, false
			}
			n.pattern = re
		}
		for _, e := range s.Enum {
			str, ok := e.(string)
			if !ok {
				return nil, false
			}
			n.enum = append(n.enum, []byte(str))
		}
	case s.Type.Is(openapi3.TypeNumber):
		n.kind = kindNumber
		n.min, n.max = s.Min, s.Max
		if len(s.Enum) > 0 {
			return nil, false
		}
	case s.Type.Is(openapi3.TypeBoolean):
		n.kind = kindBoolean
		if len(s.Enum) > 0 {
			return nil, false
		}
	case s.Type.Is(openapi3.TypeArray):
		n.kind = kindArray
		if s.Items == nil {
			return nil, false
		}
		c, ok := compile(s.Items.Value, depth+1)
		if !ok {
			return nil, false
		}
		n.items = c
	default:
		return nil, false
	}
	if n.kind != kindString && (s.Pattern != "" || s.MinLength != 0 || s.MaxLength != nil) {
		return nil, false
	}
	if n.kind != kindNumber && (s.Min != nil || s.Max != nil) {
		return nil, false
	}
	if n.kind != kindString && len(s.Enum) > 0 {
		return nil, false
	}
	return n, true
}

func (n *node) prop(name []byte) int {
	for i := range n.props {
		if bytes.Equal(n.props[i].name, name) {
			return i
		}
	}
	return -1
}

// accepts reports whether data, known to be valid UTF-8, is certainly valid
// JSON and valid against n, with nothing for kin-openapi to fill in.
func (n *node) accepts(data []byte) bool {
	p := scanner{b: data}
	if !p.value(n) {
		return false
	}
	p.ws()
	return p.i == len(p.b)
}

// scanner walks JSON text strictly: whatever it accepts is valid JSON. It
// gives up (returns false) on anything it does not need to understand.
type scanner struct {
	b []byte
	i int
}

func (p *scanner) ws() {
	for p.i < len(p.b) {
		switch p.b[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

func (p *scanner) value(n *node) bool {
	p.ws()
	if p.i >= len(p.b) {
		return false
	}
	if len(n.anyOf) > 0 {
		start := p.i
		matched := false
		end := start
		for _, alt := range n.anyOf {
			p.i = start
			if p.value(alt) {
				matched, end = true, p.i
				break
			}
		}
		if !matched {
			return false
		}
		if n.kind == kindAny {
			p.i = end
			return true
		}
		p.i = start
	}
	switch n.kind {
	case kindObject:
		return p.object(n)
	case kindString:
		s, ok := p.str()
		return ok && n.checkString(s)
	case kindNumber:
		return p.number(n)
	case kindBoolean:
		return p.literal("true") || p.literal("false")
	case kindArray:
		return p.array(n)
	}
	return false
}

func (p *scanner) literal(lit string) bool {
	if bytes.HasPrefix(p.b[p.i:], []byte(lit)) {
		p.i += len(lit)
		return true
	}
	return false
}

// str returns the raw bytes of a string without escapes; a string with
// escapes is left to kin-openapi.
func (p *scanner) str() ([]byte, bool) {
	if p.b[p.i] != '"' {
		return nil, false
	}
	start := p.i + 1
	for j := start; j < len(p.b); j++ {
		switch c := p.b[j]; {
		case c == '\\' || c < 0x20:
			// Escapes are left to kin-openapi; raw control characters are
			// not JSON at all.
			return nil, false
		case c == '"':
			p.i = j + 1
			return p.b[start:j], true
		}
	}
	return nil, false
}

func (n *node) checkString(s []byte) bool {
	if len(n.enum) > 0 {
		found := false
		for _, e := range n.enum {
			if bytes.Equal(e, s) {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	if n.minLen > 0 || n.maxLen >= 0 {
		// JSON Schema counts UTF-16 units; Go strings decoded from JSON hold
		// no surrogates, so kin-openapi's count is the rune count.
		l := utf8.RuneCount(s)
		if l < n.minLen || (n.maxLen >= 0 && l > n.maxLen) {
			return false
		}
	}
	return n.pattern == nil || n.pattern.Match(s)
}

// number reads a number in JSON's strict grammar,
// -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?, so that a body the fast
// path accepts is valid JSON without a separate json.Valid pass.
func (p *scanner) number(n *node) bool {
	start := p.i
	p.skip('-')
	switch {
	case p.skip('0'):
	case p.i < len(p.b) && p.b[p.i] >= '1' && p.b[p.i] <= '9':
		p.digits()
	default:
		return false
	}
	if p.skip('.') && p.digits() == 0 {
		return false
	}
	if p.skip('e') || p.skip('E') {
		if !p.skip('+') {
			p.skip('-')
		}
		if p.digits() == 0 {
			return false
		}
	}
	f, err := strconv.ParseFloat(string(p.b[start:p.i]), 64)
	if err != nil {
		return false // out of float64 range: kin-openapi refuses it too
	}
	return (n.min == nil || f >= *n.min) && (n.max == nil || f <= *n.max)
}

func (p *scanner) skip(c byte) bool {
	if p.i < len(p.b) && p.b[p.i] == c {
		p.i++
		return true
	}
	return false
}

func (p *scanner) digits() int {
	start := p.i
	for p.i < len(p.b) && p.b[p.i] >= '0' && p.b[p.i] <= '9' {
		p.i++
	}
	return p.i - start
}

func (p *scanner) array(n *node) bool {
	if p.b[p.i] != '[' {
		return false
	}
	p.i++
	p.ws()
	if p.i < len(p.b) && p.b[p.i] == ']' {
		p.i++
		return true
	}
	for {
		if !p.value(n.items) {
			return false
		}
		p.ws()
		if p.i >= len(p.b) {
			return false
		}
		switch p.b[p.i] {
		case ',':
			p.i++
		case ']':
			p.i++
			return true
		default:
			return false
		}
	}
}

func (p *scanner) object(n *node) bool {
	if p.b[p.i] != '{' {
		return false
	}
	p.i++
	var seen uint64
	p.ws()
	if p.i < len(p.b) && p.b[p.i] == '}' {
		p.i++
		return n.complete(seen)
	}
	for {
		p.ws()
		if p.i >= len(p.b) {
			return false
		}
		key, ok := p.str()
		if !ok {
			return false
		}
		idx := n.prop(key)
		if idx < 0 || seen&(1<<idx) != 0 {
			// Unknown (additionalProperties is false) or a duplicate, whose
			// meaning depends on the decoder: kin-openapi decides.
			return false
		}
		seen |= 1 << idx
		p.ws()
		if p.i >= len(p.b) || p.b[p.i] != ':' {
			return false
		}
		p.i++
		if !p.value(n.props[idx].node) {
			return false
		}
		p.ws()
		if p.i >= len(p.b) {
			return false
		}
		switch p.b[p.i] {
		case ',':
			p.i++
		case '}':
			p.i++
			return n.complete(seen)
		default:
			return false
		}
	}
}

// complete checks the required properties, and that no absent property has
// a default: the validator must write defaults into the request, which only
// kin-openapi's path does.
func (n *node) complete(seen uint64) bool {
	if seen&n.required != n.required {
		return false
	}
	for i := range n.props {
		if seen&(1<<i) == 0 && n.props[i].hasDefault {
			return false
		}
	}
	return true
}

// fastRoute holds the compiled schemas of one operation; a nil node means
// that part always goes through kin-openapi.
type fastRoute struct {
	request   *node
	responses map[int]*node
}

// compileRoute compiles an operation's JSON request body and its JSON
// responses, where the fast path can check them completely: no parameters,
// no response headers, one application/json media type.
func compileRoute(op *openapi3.Operation) *fastRoute {
	fr := &fastRoute{responses: map[int]*node{}}
	if len(op.Parameters) == 0 && op.RequestBody != nil && op.RequestBody.Value != nil {
		if n := compileContent(op.RequestBody.Value.Content); n != nil {
			fr.request = n
		}
	}
	if op.Responses != nil {
		for code, ref := range op.Responses.Map() {
			status, err := strconv.Atoi(code)
			if err != nil || ref.Value == nil || len(ref.Value.Headers) > 0 {
				continue
			}
			if n := compileContent(ref.Value.Content); n != nil {
				fr.responses[status] = n
			}
		}
	}
	return fr
}

func compileContent(c openapi3.Content) *node {
	mt := c["application/json"]
	if len(c) != 1 || mt == nil || mt.Schema == nil || mt.Schema.Value == nil || len(mt.Encoding) > 0 {
		return nil
	}
	n, ok := compile(mt.Schema.Value, 0)
	if !ok {
		return nil
	}
	return n
}
