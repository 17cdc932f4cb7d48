package specdiff

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/oasdiff/oasdiff/checker"
)

// This package's own rules: what oasdiff does not know or rates by clients
// alone, and this API needs.
const (
	// RuleClosedResponseProperty: a response schema that says
	// additionalProperties: false gained a property.
	RuleClosedResponseProperty = "asyncspeech-closed-response-property-added"
	// RuleClosedResponsePropertyRemoved: a response schema that says
	// additionalProperties: false lost a property, which servers on the
	// old document still send.
	RuleClosedResponsePropertyRemoved = "asyncspeech-closed-response-property-removed"
	// RuleStatusAdded: a `status` enum of a response gained a value.
	RuleStatusAdded = "asyncspeech-status-value-added"
	// RuleIDPattern: the pattern of a request property named `id` was
	// added, changed or removed.
	RuleIDPattern = "asyncspeech-id-pattern-changed"
	// RuleRequestTighter: a request bound (maxLength, minLength, maximum,
	// minimum, maxItems, minItems) tightened, or an enum lost a value.
	RuleRequestTighter = "asyncspeech-request-bound-tightened"
	// RuleRequestLooser: a request bound loosened, or an enum gained a
	// value.
	RuleRequestLooser = "asyncspeech-request-bound-loosened"
)

// ownChange is a finding of this package's rules, with the oasdiff findings
// it replaces: same operation, a rule id with one of the fragments, and the
// property among the arguments.
type ownChange struct {
	Change
	property  string   // last property name, as oasdiff writes it in its arguments
	fragments []string // of oasdiff rule ids this finding replaces
}

func (o ownChange) claims(f checker.Change) bool {
	if f.GetPath() != o.Path || !strings.EqualFold(f.GetOperation(), o.Method) {
		return false
	}
	side := "request-"
	if strings.HasPrefix(o.Pointer, o.opPointer()+"/responses/") {
		side = "response-"
	}
	id := f.GetId()
	if !strings.HasPrefix(id, side) || !slices.ContainsFunc(o.fragments, func(fr string) bool { return strings.Contains(id, fr) }) {
		return false
	}
	for _, a := range f.GetArgs() {
		s := fmt.Sprint(a)
		// "voice/anyOf[subschema #1]" names voice too.
		if slices.Contains(strings.Split(s, "/"), o.property) {
			return true
		}
	}
	return false
}

func (c Change) opPointer() string {
	return "/paths/" + escape(c.Path) + "/" + strings.ToLower(c.Method)
}

// ownRules runs this package's rules over every operation both documents
// have (an operation only one has is oasdiff's to report).
func ownRules(old, new *openapi3.T) []ownChange {
	var out []ownChange
	if old.Paths == nil || new.Paths == nil {
		return nil
	}
	for _, path := range old.Paths.InMatchingOrder() {
		oldItem, newItem := old.Paths.Value(path), new.Paths.Value(path)
		if oldItem == nil || newItem == nil {
			continue
		}
		for method, oldOp := range oldItem.Operations() {
			newOp := newItem.GetOperation(method)
			if newOp == nil {
				continue
			}
			w := &walker{base: Change{Method: method, Path: path, OperationID: newOp.OperationID}}
			ptr := w.base.opPointer()
			if _, os := requestSchema(old, path, method); os != nil {
				p, ns := requestSchema(new, path, method)
				if ns != nil {
					w.request(ptr+p, "", os, ns)
				}
			}
			if oldOp.Responses != nil {
				for status := range oldOp.Responses.Map() {
					_, os := responseSchema(old, path, method, status)
					p, ns := responseSchema(new, path, method, status)
					if os != nil && ns != nil {
						w.response(ptr+p, status, "", os, ns)
					}
				}
			}
			out = append(out, w.out...)
		}
	}
	return out
}

type walker struct {
	base Change
	out  []ownChange
}

func (w *walker) add(rule string, level Level, pointer, property, msg string, fragments []string, breaks ...Impact) {
	c := w.base
	c.Rule, c.Level, c.Pointer, c.Message, c.Breaks = rule, level, pointer, msg, breaks
	w.out = append(w.out, ownChange{Change: c, property: property, fragments: fragments})
}

// child names a property below a field path written as in a JSON body:
// "results[].url".
func child(field, name string) string {
	if field == "" {
		return name
	}
	return field + "." + name
}

// last is the last property name of a field path.
func last(field string) string {
	field = strings.TrimSuffix(field, "[]")
	if i := strings.LastIndexAny(field, "."); i >= 0 {
		field = field[i+1:]
	}
	return strings.TrimSuffix(field, "[]")
}

// both calls fn for every subschema the two schemas have at the same place:
// common properties, array items and combinator branches of equal count.
func both(ptr, field string, old, new *openapi3.Schema, fn func(ptr, field string, old, new *openapi3.Schema)) {
	for _, name := range slices.Sorted(mapsKeys(old.Properties)) {
		o, n := old.Properties[name], new.Properties[name]
		if o != nil && n != nil && o.Value != nil && n.Value != nil {
			fn(ptr+"/properties/"+escape(name), child(field, name), o.Value, n.Value)
		}
	}
	if old.Items != nil && new.Items != nil && old.Items.Value != nil && new.Items.Value != nil {
		fn(ptr+"/items", field+"[]", old.Items.Value, new.Items.Value)
	}
	for kw, pair := range map[string][2]openapi3.SchemaRefs{"anyOf": {old.AnyOf, new.AnyOf}, "oneOf": {old.OneOf, new.OneOf}, "allOf": {old.AllOf, new.AllOf}} {
		if len(pair[0]) != len(pair[1]) {
			continue
		}
		for i := range pair[0] {
			if pair[0][i].Value != nil && pair[1][i].Value != nil {
				fn(ptr+"/"+kw+"/"+strconv.Itoa(i), field, pair[0][i].Value, pair[1][i].Value)
			}
		}
	}
}

func mapsKeys(m openapi3.Schemas) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// request applies the request rules to one schema of a request body and
// everything below it.
func (w *walker) request(ptr, field string, old, new *openapi3.Schema) {
	name := field
	if name == "" {
		name = "the request body"
	} else {
		name = "request field `" + name + "`"
	}
	prop := last(field)
	tighter := func(kw, what string, fr ...string) {
		w.add(RuleRequestTighter, LevelBreaking, ptr+"/"+kw, prop, what+" of "+name+" (tighter)", fr,
			Impact{PartyClient, "programs that send what the old rule allowed get a 400 from a server on the new document; CreateParams and callers' own checks still follow the old rule"},
			Impact{PartyContract, "the requests it derives from the old document as valid, at the old bound, are refused, and its create checks fail"})
	}
	looser := func(kw, what string, fr ...string) {
		w.add(RuleRequestLooser, LevelWarning, ptr+"/"+kw, prop, what+" of "+name+" (looser)", fr,
			Impact{PartyServer, "speechd validates requests against its copy of openapi.json and refuses with 400 what the new document allows, until it is regenerated"},
			Impact{PartyContract, "its negative check just past the old bound expects a 400 a server on the new document need not send (and against the vendor that request creates a billed task)"})
	}
	upper := func(kw string, o, n *float64, fr ...string) {
		switch {
		case o == nil && n != nil:
			tighter(kw, fmt.Sprintf("%s %s set", kw, num(*n)), fr...)
		case o != nil && n == nil:
			looser(kw, fmt.Sprintf("%s %s removed", kw, num(*o)), fr...)
		case o != nil && *n < *o:
			tighter(kw, fmt.Sprintf("%s lowered from %s to %s", kw, num(*o), num(*n)), fr...)
		case o != nil && *n > *o:
			looser(kw, fmt.Sprintf("%s raised from %s to %s", kw, num(*o), num(*n)), fr...)
		}
	}
	lower := func(kw string, o, n *float64, fr ...string) {
		switch {
		case o == nil && n != nil:
			tighter(kw, fmt.Sprintf("%s %s set", kw, num(*n)), fr...)
		case o != nil && n == nil:
			looser(kw, fmt.Sprintf("%s %s removed", kw, num(*o)), fr...)
		case o != nil && *n > *o:
			tighter(kw, fmt.Sprintf("%s raised from %s to %s", kw, num(*o), num(*n)), fr...)
		case o != nil && *n < *o:
			looser(kw, fmt.Sprintf("%s lowered from %s to %s", kw, num(*o), num(*n)), fr...)
		}
	}
	upper("maxLength", u64(old.MaxLength), u64(new.MaxLength), "max-length")
	lower("minLength", nonZero(old.MinLength), nonZero(new.MinLength), "min-length")
	upper("maxItems", u64(old.MaxItems), u64(new.MaxItems), "max-items")
	lower("minItems", nonZero(old.MinItems), nonZero(new.MinItems), "min-items")
	upper("maximum", old.Max, new.Max, "-max-set", "-max-increased", "-max-decreased")
	lower("minimum", old.Min, new.Min, "-min-set", "-min-increased", "-min-decreased")

	enumFr := []string{"enum-value-added", "enum-value-removed", "became-enum", "became-not-enum"}
	switch o, n := old.Enum, new.Enum; {
	case len(o) == 0 && len(n) > 0:
		tighter("enum", "enum "+values(n)+" set", enumFr...)
	case len(o) > 0 && len(n) == 0:
		looser("enum", "enum "+values(o)+" removed", enumFr...)
	case len(o) > 0:
		if gone := minus(o, n); len(gone) > 0 {
			tighter("enum", "enum value "+values(gone)+" removed", enumFr...)
		}
		if added := minus(n, o); len(added) > 0 {
			looser("enum", "enum value "+values(added)+" added", enumFr...)
		}
	}

	if prop == "id" && old.Pattern != new.Pattern {
		w.add(RuleIDPattern, LevelBreaking, ptr+"/pattern", prop,
			fmt.Sprintf("pattern of %s changed from %s to %s", name, quoteOr(old.Pattern), quoteOr(new.Pattern)),
			[]string{"pattern-added", "pattern-changed", "pattern-removed", "pattern-generalized"},
			Impact{PartyClient, "clients that check ids before sending (speech result and speech wait accept only a UUID version 4) refuse ids the new pattern allows, or send ids it refuses"},
			Impact{PartyServer, "speechd refuses with 400 ids its copy of the pattern does not match, and hands out ids of the old form"},
			Impact{PartyContract, "its malformed-id checks and its check of created ids follow the old pattern"})
	}
	both(ptr, field, old, new, w.request)
}

// response applies the response rules to one schema of a response body and
// everything below it.
func (w *walker) response(ptr, status, field string, old, new *openapi3.Schema) {
	if ap := old.AdditionalProperties.Has; ap != nil && !*ap {
		for _, name := range slices.Sorted(mapsKeys(new.Properties)) {
			if old.Properties[name] != nil {
				continue
			}
			f := child(field, name)
			impacts := []Impact{
				{PartyClient, "with WithResponseValidation every answer carrying `" + f + "` fails with a *ContractError; without it the value reaches programs only through Task.Extra until the module is regenerated"},
				{PartyContract, "its conformance checks and speech proxy reject every answer carrying `" + f + "`: the old schema says additionalProperties: false"},
			}
			if slices.Contains(new.Required, name) {
				impacts = append(impacts, Impact{PartyServer, "speechd does not send the new required property"})
			}
			w.add(RuleClosedResponseProperty, LevelBreaking, ptr+"/properties/"+escape(name), name,
				fmt.Sprintf("added property `%s` to the %s response, whose schema forbids properties it does not list (additionalProperties: false)", f, status),
				[]string{"optional-property-added", "required-property-added"}, impacts...)
		}
	}
	if ap := new.AdditionalProperties.Has; ap != nil && !*ap {
		for _, name := range slices.Sorted(mapsKeys(old.Properties)) {
			if new.Properties[name] != nil {
				continue
			}
			f := child(field, name)
			impacts := []Impact{
				{PartyClient, "programs reading `" + f + "` get nothing from a server on the new document"},
				{PartyServer, "speechd, on the old document, still sends `" + f + "`, which the new document forbids: every client validating against it rejects the answer"},
			}
			if slices.Contains(old.Required, name) {
				impacts[0].Reason += ", and with WithResponseValidation every answer fails with a *ContractError (the old document requires it)"
				impacts = append(impacts, Impact{PartyContract, "its conformance checks require `" + f + "` and fail a server on the new document"})
			}
			w.add(RuleClosedResponsePropertyRemoved, LevelBreaking, ptr+"/properties/"+escape(name), name,
				fmt.Sprintf("removed property `%s` from the %s response, whose schema forbids properties it does not list (additionalProperties: false)", f, status),
				[]string{"optional-property-removed", "required-property-removed"}, impacts...)
		}
	}
	if last(field) == "status" && len(old.Enum) > 0 {
		if added := minus(new.Enum, old.Enum); len(added) > 0 {
			w.add(RuleStatusAdded, LevelBreaking, ptr+"/enum", "status",
				fmt.Sprintf("added task status %s to `%s` of the %s response", values(added), field, status),
				[]string{"enum-value-added"},
				Impact{PartyClient, "Wait cannot know whether " + values(added) + " is terminal: it keeps polling until its context ends, reporting the status through WithStatusCallback; with WithResponseValidation every poll fails with a *ContractError"},
				Impact{PartyContract, "lifecycle.order fails on a status it does not know, and lifecycle.terminal keeps polling for COMPLETED or ERROR until its timeout"})
		}
	}
	both(ptr, field, old, new, func(p, f string, o, n *openapi3.Schema) { w.response(p, status, f, o, n) })
}

func u64(v *uint64) *float64 {
	if v == nil {
		return nil
	}
	f := float64(*v)
	return &f
}

// nonZero reads a lower bound where 0 means "none" (minLength, minItems).
func nonZero(v uint64) *float64 {
	if v == 0 {
		return nil
	}
	f := float64(v)
	return &f
}

func num(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }

// minus returns the values of a that b does not have.
func minus(a, b []any) []any {
	var out []any
	for _, v := range a {
		if !slices.ContainsFunc(b, func(x any) bool { return fmt.Sprint(x) == fmt.Sprint(v) }) {
			out = append(out, v)
		}
	}
	return out
}

func values(vs []any) string {
	s := make([]string, len(vs))
	for i, v := range vs {
		s[i] = fmt.Sprintf("%q", fmt.Sprint(v))
	}
	return strings.Join(s, ", ")
}

func quoteOr(p string) string {
	if p == "" {
		return "(none)"
	}
	return "`" + p + "`"
}
