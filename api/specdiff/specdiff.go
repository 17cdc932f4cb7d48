// Package specdiff compares two versions of the vendor's OpenAPI document and
// says, for every change, how serious it is and whom it breaks: Go programs
// using this module's client, servers implementing the spec (speechd), and
// the contract suite (speech contract, speech proxy).
//
// The comparison is oasdiff's (github.com/oasdiff/oasdiff: its diff and its
// backward-compatibility checker), completed by rules oasdiff does not know
// and this API needs: a new response property under additionalProperties:
// false, a new task status, a changed id pattern, and request bounds, which
// break callers when they tighten and servers when they loosen. The command
// `speech spec diff` is a thin wrapper around Compare and the writers in
// format.go.
package specdiff

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/oasdiff/oasdiff/checker"
	"github.com/oasdiff/oasdiff/diff"
	"github.com/oasdiff/oasdiff/load"
)

// Level says how serious a change is.
type Level string

// The levels, from least to most serious.
const (
	// LevelInfo: nothing that was built against the old document breaks.
	LevelInfo Level = "info"
	// LevelWarning: something may break, or a party other than the
	// document's clients (a server implementing it) must follow.
	LevelWarning Level = "warning"
	// LevelBreaking: something built against the old document breaks.
	LevelBreaking Level = "breaking"
)

// rank orders the levels; an unknown level ranks below info.
func (l Level) rank() int {
	switch l {
	case LevelInfo:
		return 1
	case LevelWarning:
		return 2
	case LevelBreaking:
		return 3
	}
	return 0
}

// AtLeast reports whether l is as serious as min or more.
func (l Level) AtLeast(min Level) bool { return l.rank() >= min.rank() }

// ParseLevel reads a level name as written on the command line.
func ParseLevel(s string) (Level, error) {
	switch l := Level(strings.ToLower(s)); l {
	case LevelInfo, LevelWarning, LevelBreaking:
		return l, nil
	}
	return "", fmt.Errorf("level %q: want info, warning or breaking", s)
}

// Party is one kind of user of this module that a change can break.
type Party string

// The parties, in the order reports list them.
const (
	// PartyClient: Go programs calling the API through api/client or
	// generated/, and the speech command built on them.
	PartyClient Party = "go-client"
	// PartyServer: servers implementing the spec, such as speechd, which
	// validate requests and responses against their copy of openapi.json.
	PartyServer Party = "server"
	// PartyContract: the contract suite (speech contract) and the
	// validating proxy (speech proxy), which judge a server by the document
	// they were built with.
	PartyContract Party = "contract"
)

// Title is the party's name in reports.
func (p Party) Title() string {
	switch p {
	case PartyClient:
		return "Go clients of this module"
	case PartyServer:
		return "servers implementing the spec (speechd)"
	case PartyContract:
		return "the contract suite and proxy"
	}
	return string(p)
}

func (p Party) rank() int {
	return slices.Index([]Party{PartyClient, PartyServer, PartyContract}, p)
}

// Impact is how one change breaks one party.
type Impact struct {
	Party  Party  `json:"party"`
	Reason string `json:"reason"`
}

// Change is one difference between the two documents.
type Change struct {
	// Rule names the rule that found the change: an oasdiff rule id, or
	// one of this package's own (Rule* constants).
	Rule  string `json:"rule"`
	Level Level  `json:"level"`
	// Method, Path and OperationID name the operation; empty for a change
	// that concerns the document as a whole.
	Method      string `json:"method,omitempty"`
	Path        string `json:"path,omitempty"`
	OperationID string `json:"operationId,omitempty"`
	// Pointer is the JSON pointer (RFC 6901) of the changed element in
	// the new document, or in the old one for an element that was removed.
	Pointer string `json:"pointer"`
	// Message says what changed.
	Message string `json:"message"`
	// Breaks lists whom the change breaks and how; empty when nobody.
	Breaks []Impact `json:"breaks,omitempty"`
}

// Operation names the change's operation as "POST /path (operationId)".
func (c Change) Operation() string {
	if c.Path == "" {
		return "(document)"
	}
	s := strings.TrimSpace(c.Method + " " + c.Path)
	if c.OperationID != "" {
		s += " (" + c.OperationID + ")"
	}
	return s
}

// Report is the outcome of Compare.
type Report struct {
	// Old and New name the two documents as given (file, URL or "-").
	Old string `json:"old"`
	New string `json:"new"`
	// Changes are ordered by level (most serious first), then operation
	// and pointer.
	Changes []Change `json:"changes"`
}

// Count returns how many changes have level l.
func (r *Report) Count(l Level) int {
	n := 0
	for _, c := range r.Changes {
		if c.Level == l {
			n++
		}
	}
	return n
}

// Fails reports whether any change is at least as serious as threshold:
// what `speech spec diff` turns into exit status 1.
func (r *Report) Fails(threshold Level) bool {
	return slices.ContainsFunc(r.Changes, func(c Change) bool { return c.Level.AtLeast(threshold) })
}

// Document is one parsed version of the spec.
type Document struct {
	// Name is where it came from, as the user wrote it.
	Name string
	info *load.SpecInfo
}

// Spec returns the parsed document. Callers must treat it as read-only.
func (d *Document) Spec() *openapi3.T { return d.info.Spec }

// Parse parses and validates an OpenAPI 3 document (JSON or YAML) named
// name. External references are refused: the vendor publishes one
// self-contained file, and following references would let a document read
// local files or reach other hosts.
func Parse(ctx context.Context, name string, data []byte) (*Document, error) {
	// A fresh loader per document: a loader caches documents by path, and
	// both sides of a comparison may carry the same name.
	loader := openapi3.NewLoader()
	loader.Context = ctx
	loader.IsExternalRefsAllowed = false
	info, err := load.NewSpecInfoFromData(loader, data, name)
	if err != nil {
		return nil, fmt.Errorf("parse %s: %w", name, err)
	}
	if err := info.Spec.Validate(ctx); err != nil {
		return nil, fmt.Errorf("validate %s: %w", name, err)
	}
	return &Document{Name: name, info: info}, nil
}

// Compare lists the changes from old to new: every change oasdiff's
// backward-compatibility checker reports (info level included), each with
// the parties it breaks, plus the findings of this package's own rules,
// which replace oasdiff's finding where both describe the same change.
func Compare(old, new *Document) (*Report, error) {
	d, sources, err := diff.GetPathsDiff(diff.NewConfig(), []*load.SpecInfo{old.info}, []*load.SpecInfo{new.info})
	if err != nil {
		return nil, fmt.Errorf("diff %s → %s: %w", old.Name, new.Name, err)
	}
	var found checker.Changes
	if d != nil { // nil: the paths are identical
		cfg := checker.NewConfig(checker.GetAllChecks())
		found = checker.CheckBackwardCompatibilityUntilLevel(cfg, d, sources, checker.INFO)
	}
	own := ownRules(old.Spec(), new.Spec())
	loc := checker.NewDefaultLocalizer()
	r := &Report{Old: old.Name, New: new.Name, Changes: []Change{}}
	for _, f := range found {
		if slices.ContainsFunc(own, func(o ownChange) bool { return o.claims(f) }) {
			continue
		}
		r.Changes = append(r.Changes, fromOasdiff(f, loc, old.Spec(), new.Spec()))
	}
	for _, o := range own {
		r.Changes = append(r.Changes, o.Change)
	}
	for i := range r.Changes {
		slices.SortStableFunc(r.Changes[i].Breaks, func(a, b Impact) int { return cmp.Compare(a.Party.rank(), b.Party.rank()) })
	}
	slices.SortStableFunc(r.Changes, func(a, b Change) int {
		return cmp.Or(
			cmp.Compare(b.Level.rank(), a.Level.rank()),
			cmp.Compare(a.Path, b.Path),
			cmp.Compare(a.Method, b.Method),
			cmp.Compare(a.Pointer, b.Pointer),
			cmp.Compare(a.Rule, b.Rule),
			cmp.Compare(a.Message, b.Message),
		)
	})
	return r, nil
}
