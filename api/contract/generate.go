package contract

import (
	crand "crypto/rand"
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
)

// The generator behind Options.Examples. It is written on the suite's own
// schema walk (derive.go) rather than on a property-based testing library:
// pgregory.net/rapid v1.3.0, the one the Go community trusts, sets its seed,
// check count and shrink time only through process-wide flags registered in
// its init (or RAPID_* variables read once at start), writes fail files
// under testdata/rapid in the working directory, and shrinks by re-running
// the property for up to 30 s: each re-run here is an HTTP request, on the
// live API a billed task, so shrinking must count against MaxRequests.
// docs/contract.md says the same.

// RandomSeed returns a non-zero random seed for Options.Seed.
func RandomSeed() uint64 {
	var b [8]byte
	for {
		_, _ = crand.Read(b[:]) // crypto/rand.Read never fails on supported platforms
		if s := binary.LittleEndian.Uint64(b[:]); s != 0 {
			return s
		}
	}
}

// alphabet is a class of characters a generated string is drawn from.
type alphabet int

const (
	alphaASCII   alphabet = iota // printable ASCII, quote and backslash included
	alphaLatin                   // U+00C0..U+00FF: 2 bytes each in UTF-8
	alphaCJK                     // U+4E00..U+9FFF: 3 bytes each
	alphaEmoji                   // U+1F600..U+1F64F: 4 bytes each, 2 UTF-16 units
	alphaEscapes                 // characters JSON must or may escape
	alphaMixed                   // each character from any of the above
	numAlphabets
)

// escapes are characters a JSON encoder escapes (quote, backslash, control
// characters, and <>& as Go does) or that break naive line handling.
var escapes = []rune{'"', '\\', '\n', '\r', '\t', '\b', '\f', 0x01, 0x1f, 0x7f, '/', '<', '>', '&', 0x2028, 0x2029, 0xfeff}

// gen draws JSON values from schemas with one seeded source, so the same seed
// yields the same values.
type gen struct{ rng *rand.Rand }

func newGen(seed uint64) *gen {
	return &gen{rng: rand.New(rand.NewPCG(seed, 0x636f6e7472616374))} // "contract"
}

func (g *gen) char(a alphabet) rune {
	switch a {
	case alphaLatin:
		return rune(0xc0 + g.rng.IntN(0x40))
	case alphaCJK:
		return rune(0x4e00 + g.rng.IntN(0x5200))
	case alphaEmoji:
		return rune(0x1f600 + g.rng.IntN(0x50))
	case alphaEscapes:
		return escapes[g.rng.IntN(len(escapes))]
	case alphaMixed:
		return g.char(alphabet(g.rng.IntN(int(alphaMixed))))
	}
	return rune(0x20 + g.rng.IntN(0x5f))
}

func (g *gen) text(n int, a alphabet) string {
	var b strings.Builder
	for range n {
		b.WriteRune(g.char(a))
	}
	return b.String()
}

// strBounds returns a string schema's length bounds in characters; without
// a maxLength the generator stays under 64 characters past the minimum.
func strBounds(s *openapi3.Schema) (lo, hi int, bounded bool) {
	lo = int(s.MinLength)
	if s.MaxLength != nil {
		return lo, int(*s.MaxLength), true
	}
	return lo, lo + 64, false
}

// lengths are the length classes of a string: the bounds, one inside each
// bound, and two random ones.
func (g *gen) length(s *openapi3.Schema) int {
	lo, hi, _ := strBounds(s)
	switch g.rng.IntN(6) {
	case 0:
		return lo
	case 1:
		return min(lo+1, hi)
	case 2:
		return max(hi-1, lo)
	case 3:
		return hi
	case 4:
		return lo + g.rng.IntN(min(hi-lo, 300)+1)
	}
	return lo + g.rng.IntN(min(hi-lo, 16)+1)
}

// numBounds returns the closed range a number schema allows (exclusive
// bounds moved in by step) and the step past which a bound is crossed.
func numBounds(s *openapi3.Schema) (lo, hi, step float64) {
	step = 0.001
	if s.Type.Is(openapi3.TypeInteger) {
		step = 1
	}
	lo, hi = -1000, 1000
	if s.Min != nil {
		lo = *s.Min
		if s.ExclusiveMin.Bool != nil && *s.ExclusiveMin.Bool {
			lo += step
		}
	}
	if s.Max != nil {
		hi = *s.Max
		if s.ExclusiveMax.Bool != nil && *s.ExclusiveMax.Bool {
			hi -= step
		}
	}
	return lo, hi, step
}

// numberClasses are the values a sweep pins a number to: each bound and the
// value one step inside it.
func numberClasses(s *openapi3.Schema) []float64 {
	lo, hi, step := numBounds(s)
	return []float64{lo, round(lo+step, step), round(hi-step, step), hi}
}

func round(v, step float64) float64 {
	if step >= 1 {
		return math.Round(v)
	}
	return math.Round(v*1e6) / 1e6
}

func (g *gen) number(s *openapi3.Schema) float64 {
	lo, hi, step := numBounds(s)
	switch k := g.rng.IntN(7); {
	case k < 4:
		return numberClasses(s)[k]
	case k == 4:
		if d, ok := s.Default.(float64); ok {
			return d
		}
	}
	v := lo + g.rng.Float64()*(hi-lo)
	if step >= 1 {
		return math.Round(v)
	}
	// Three decimals at most, so a reproduction reads well.
	return math.Min(hi, math.Max(lo, math.Round(v*1000)/1000))
}

// value draws a value valid for s (the caller confirms it against the
// schema; generation does not follow every keyword).
func (g *gen) value(s *openapi3.Schema) any {
	if branches := append(append(openapi3.SchemaRefs(nil), s.AnyOf...), s.OneOf...); len(branches) > 0 {
		// An enum branch is drawn 3 times in 4: the free branch beside it
		// (voice: any file_id) mostly names nothing the server knows.
		for _, b := range branches {
			if b.Value != nil && len(b.Value.Enum) > 0 && g.rng.IntN(4) > 0 {
				return g.value(b.Value)
			}
		}
		return g.value(branches[g.rng.IntN(len(branches))].Value)
	}
	if len(s.Enum) > 0 {
		return s.Enum[g.rng.IntN(len(s.Enum))]
	}
	switch {
	case s.Type.Is(openapi3.TypeObject):
		return g.object(s, nil)
	case s.Type.Is(openapi3.TypeString):
		if s.Pattern != "" {
			v, _ := exampleString(s)
			return v
		}
		return g.text(g.length(s), alphabet(g.rng.IntN(int(numAlphabets))))
	case s.Type.Is(openapi3.TypeNumber), s.Type.Is(openapi3.TypeInteger):
		return g.number(s)
	case s.Type.Is(openapi3.TypeBoolean):
		return g.rng.IntN(2) == 0
	case s.Type.Is(openapi3.TypeArray):
		var out []any
		if s.Items != nil && s.Items.Value != nil {
			for range g.rng.IntN(3) {
				out = append(out, g.value(s.Items.Value))
			}
		}
		return append([]any{}, out...)
	}
	return nil
}

// object draws an object: every required property, each optional one with
// probability 0.6, and the pinned values of pins in place of drawn ones.
func (g *gen) object(s *openapi3.Schema, pins map[string]any) map[string]any {
	out := map[string]any{}
	for _, name := range propNames(s) {
		if v, ok := pins[name]; ok {
			out[name] = v
			continue
		}
		if !contains(s.Required, name) && g.rng.Float64() >= 0.6 {
			continue
		}
		out[name] = g.value(s.Properties[name].Value)
	}
	return out
}

func propNames(s *openapi3.Schema) []string {
	names := make([]string, 0, len(s.Properties))
	for name, p := range s.Properties {
		if p != nil && p.Value != nil {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	return names
}

// enumValues collects the enum values of s and its anyOf/oneOf branches.
func enumValues(s *openapi3.Schema) []any {
	out := append([]any(nil), s.Enum...)
	for _, b := range append(append(openapi3.SchemaRefs(nil), s.AnyOf...), s.OneOf...) {
		if b.Value != nil {
			out = append(out, enumValues(b.Value)...)
		}
	}
	return out
}

// branchOf returns the first schema among s and its branches whose type is
// typ, or nil.
func branchOf(s *openapi3.Schema, typ string) *openapi3.Schema {
	if s.Type.Is(typ) && len(s.Enum) == 0 {
		return s
	}
	for _, b := range append(append(openapi3.SchemaRefs(nil), s.AnyOf...), s.OneOf...) {
		if b.Value != nil {
			if f := branchOf(b.Value, typ); f != nil {
				return f
			}
		}
	}
	return nil
}

// sweep lists the pins of the examples every run starts with, so the
// corners are covered whatever the seed: the minimal and the complete body,
// each enum value, each string at each length bound and inside it in each
// alphabet, each number at each bound and one step inside, and each
// enum value of a property with more than one paired with each of those
// number corners (a server may fail only for one voice at an extreme
// temperature). Everything not pinned is drawn.
func (g *gen) sweep(s *openapi3.Schema) []map[string]any {
	var out []map[string]any
	names := propNames(s)
	minimal, all := map[string]any{}, map[string]any{}
	for _, n := range names {
		all[n] = g.value(s.Properties[n].Value)
		if contains(s.Required, n) {
			minimal[n] = all[n]
		}
	}
	out = append(out, minimal, all)
	type numCorner struct {
		name string
		v    float64
	}
	var corners []numCorner
	for _, n := range names {
		ps := s.Properties[n].Value
		for _, e := range enumValues(ps) {
			out = append(out, map[string]any{n: e})
		}
		if ss := branchOf(ps, openapi3.TypeString); ss != nil && ss.Pattern == "" {
			lo, hi, bounded := strBounds(ss)
			lens := []int{lo, min(lo+1, hi), max(hi-1, lo), hi}
			if !bounded {
				lens = []int{lo, lo + 1, lo + 8, lo + 32}
			}
			for _, l := range lens {
				for a := range numAlphabets {
					out = append(out, map[string]any{n: g.text(l, a)})
				}
			}
		}
		if ns := branchOf(ps, openapi3.TypeNumber); ns != nil {
			for _, v := range numberClasses(ns) {
				corners = append(corners, numCorner{n, v})
				out = append(out, map[string]any{n: v})
			}
		} else if ns := branchOf(ps, openapi3.TypeInteger); ns != nil {
			for _, v := range numberClasses(ns) {
				corners = append(corners, numCorner{n, v})
				out = append(out, map[string]any{n: v})
			}
		}
	}
	for _, n := range names {
		enum := enumValues(s.Properties[n].Value)
		if len(enum) < 2 {
			continue
		}
		for _, e := range enum {
			for _, c := range corners {
				if c.name != n {
					out = append(out, map[string]any{n: e, c.name: c.v})
				}
			}
		}
	}
	return out
}

// generated is one generated create body.
type generated struct {
	n     int // 1-based number in the run
	valid bool
	// rule names what an invalid body breaks, e.g. "input.maxLength".
	rule string
	// keep is the property an invalid body breaks: shrinking leaves it.
	keep  string
	value map[string]any
}

// generateExamples draws n bodies for the object schema s: every fourth is
// invalid (one rule broken), the others valid, the first valid ones the
// sweep's corners. Every body is confirmed valid or invalid against the
// schema itself.
func generateExamples(s *openapi3.Schema, seed uint64, n int) ([]generated, error) {
	g := newGen(seed)
	sweep := g.sweep(s)
	out := make([]generated, 0, n)
	for i := range n {
		ex := generated{n: i + 1}
		if i%4 == 3 {
			v, rule, keep, err := g.invalid(s, i/4)
			if err != nil {
				return nil, err
			}
			ex.value, ex.rule, ex.keep = v, rule, keep
		} else {
			var pins map[string]any
			if len(sweep) > 0 {
				pins, sweep = sweep[0], sweep[1:]
			}
			v, err := g.valid(s, pins)
			if err != nil && pins != nil {
				// A corner the schema refuses after all (a keyword the
				// sweep does not read): draw without it.
				v, err = g.valid(s, nil)
			}
			if err != nil {
				return nil, err
			}
			ex.value, ex.valid = v, true
		}
		out = append(out, ex)
	}
	return out, nil
}

// valid draws a body valid against s with pins, retrying the unpinned
// properties a few times when a draw breaks a keyword the generator does
// not follow.
func (g *gen) valid(s *openapi3.Schema, pins map[string]any) (map[string]any, error) {
	var err error
	for range 20 {
		v := g.object(s, pins)
		if err = validateRequestValue(s, v); err == nil {
			return v, nil
		}
	}
	return nil, fmt.Errorf("contract: no valid body with %v drawn in 20 tries: %w", pins, err)
}

// invalid draws a valid body and breaks one rule of one property (or of the
// object): the k-th invalid body of a run breaks the k-th rule while there
// are rules not yet broken, a random one after that.
func (g *gen) invalid(s *openapi3.Schema, k int) (map[string]any, string, string, error) {
	for try := range 50 {
		base, err := g.valid(s, nil)
		if err != nil {
			return nil, "", "", err
		}
		if try > 0 {
			k = -1 // that rule cannot be broken on its own: a random one
		}
		v, rule, keep := g.breakOne(s, base, k)
		if v != nil && validateRequestValue(s, v) != nil {
			return v, rule, keep, nil
		}
	}
	return nil, "", "", fmt.Errorf("contract: no invalid body drawn in 50 tries")
}

func (g *gen) breakOne(s *openapi3.Schema, base map[string]any, k int) (map[string]any, string, string) {
	names := propNames(s)
	type rule struct {
		name, keep string
		apply      func(map[string]any)
	}
	var rules []rule
	for _, req := range s.Required {
		rules = append(rules, rule{req + ".required", req, func(m map[string]any) { delete(m, req) }})
	}
	if ap := s.AdditionalProperties.Has; ap != nil && !*ap {
		extra := "x_" + g.text(1+g.rng.IntN(8), alphaASCII)
		rules = append(rules, rule{"body.additionalProperties", extra, func(m map[string]any) { m[extra] = g.anyValue() }})
	}
	for _, n := range names {
		ps := s.Properties[n].Value
		rules = append(rules, rule{n + ".type", n, func(m map[string]any) { m[n] = g.anyValue() }})
		if ss := branchOf(ps, openapi3.TypeString); ss != nil {
			lo, hi, bounded := strBounds(ss)
			if lo > 0 {
				rules = append(rules, rule{n + ".minLength", n, func(m map[string]any) {
					m[n] = g.text(g.rng.IntN(lo), alphabet(g.rng.IntN(int(numAlphabets))))
				}})
			}
			if bounded {
				rules = append(rules, rule{n + ".maxLength", n, func(m map[string]any) {
					extra := 1
					if g.rng.IntN(2) == 0 {
						extra += g.rng.IntN(64)
					}
					m[n] = g.text(hi+extra, alphabet(g.rng.IntN(int(numAlphabets))))
				}})
			}
		}
		if len(enumValues(ps)) > 0 {
			rules = append(rules, rule{n + ".enum", n, func(m map[string]any) {
				m[n] = g.text(1+g.rng.IntN(12), alphabet(g.rng.IntN(int(numAlphabets))))
			}})
		}
		ns := branchOf(ps, openapi3.TypeNumber)
		if ns == nil {
			ns = branchOf(ps, openapi3.TypeInteger)
		}
		if ns != nil {
			lo, hi, step := numBounds(ns)
			past := func() float64 {
				if g.rng.IntN(2) == 0 {
					return step
				}
				return round(step+g.rng.Float64()*10, step)
			}
			if ns.Min != nil {
				rules = append(rules, rule{n + ".minimum", n, func(m map[string]any) { m[n] = round(lo-past(), step) }})
			}
			if ns.Max != nil {
				rules = append(rules, rule{n + ".maximum", n, func(m map[string]any) { m[n] = round(hi+past(), step) }})
			}
		}
	}
	if len(rules) == 0 {
		return nil, "", ""
	}
	i := k
	if i < 0 || i >= len(rules) {
		i = g.rng.IntN(len(rules))
	}
	r := rules[i]
	v := deepCopy(base).(map[string]any)
	r.apply(v)
	return v, r.name, r.keep
}

// anyValue draws a value of a random JSON type.
func (g *gen) anyValue() any {
	switch g.rng.IntN(7) {
	case 0:
		return float64(g.rng.IntN(20001) - 10000)
	case 1:
		return math.Round((g.rng.Float64()*200-100)*1000) / 1000
	case 2:
		return g.text(g.rng.IntN(12), alphabet(g.rng.IntN(int(numAlphabets))))
	case 3:
		return g.rng.IntN(2) == 0
	case 4:
		return nil
	case 5:
		return map[string]any{}
	}
	return []any{g.text(1, alphaASCII)}
}

// simpler lists bodies one step simpler than v, most aggressive first, that
// are still valid (valid set) or still invalid (valid unset) against s; an
// invalid body keeps its broken property keep as it is. The shrinker tries
// them in order and moves to the first that fails the same way.
func simpler(s *openapi3.Schema, v map[string]any, valid bool, keep string) []map[string]any {
	var out []map[string]any
	seen := map[string]bool{string(mustJSON(v)): true}
	add := func(c map[string]any) {
		k := string(mustJSON(c))
		if seen[k] {
			return
		}
		seen[k] = true
		if (validateRequestValue(s, c) == nil) == valid {
			out = append(out, c)
		}
	}
	names := make([]string, 0, len(v))
	for n := range v {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if n != keep && !contains(s.Required, n) {
			add(mutate(v, []string{n}, nil, true))
		}
	}
	for _, n := range names {
		if n == keep {
			continue
		}
		var ps *openapi3.Schema
		if p := s.Properties[n]; p != nil {
			ps = p.Value
		}
		for _, c := range simplerValues(ps, v[n]) {
			add(mutate(v, []string{n}, c, false))
		}
	}
	return out
}

// simplerValues lists simpler values than v for schema s.
func simplerValues(s *openapi3.Schema, v any) []any {
	var out []any
	switch t := v.(type) {
	case string:
		if s != nil {
			if e := enumValues(s); len(e) > 0 {
				out = append(out, e[0])
			}
		}
		r := []rune(t)
		lo := 0
		if s != nil {
			if ss := branchOf(s, openapi3.TypeString); ss != nil {
				lo = int(ss.MinLength)
			}
		}
		n := len(r)
		if n > lo {
			out = append(out, string(r[:lo]), string(r[n-lo:]))
			if h := n / 2; h >= lo && h < n {
				out = append(out, string(r[:h]), string(r[h:]), string(r[:n-h]))
			}
		}
		out = append(out, strings.Repeat("a", n))
		if n <= 16 {
			for i := range r {
				if r[i] != 'a' {
					c := append([]rune(nil), r...)
					c[i] = 'a'
					out = append(out, string(c))
				}
			}
			if n > lo {
				for i := range r {
					out = append(out, string(append(append([]rune(nil), r[:i]...), r[i+1:]...)))
				}
			}
		}
	case float64:
		if s != nil {
			if d, ok := s.Default.(float64); ok {
				out = append(out, d)
			}
			if ns := branchOf(s, openapi3.TypeNumber); ns != nil && ns.Min != nil {
				out = append(out, *ns.Min)
			}
		}
		out = append(out, 0.0, math.Round(t*10)/10, math.Round(t))
	case bool:
		out = append(out, false)
	}
	return out
}
