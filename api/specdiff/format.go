package specdiff

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

// summary is "3 changes: 1 breaking, 1 warning, 1 info".
func (r *Report) summary() string {
	if len(r.Changes) == 0 {
		return "no changes"
	}
	noun := "changes"
	if len(r.Changes) == 1 {
		noun = "change"
	}
	return fmt.Sprintf("%d %s: %d breaking, %d warning, %d info", len(r.Changes), noun,
		r.Count(LevelBreaking), r.Count(LevelWarning), r.Count(LevelInfo))
}

// WriteText writes the report for a terminal: a summary line, then each
// change with its operation, JSON pointer and whom it breaks.
func (r *Report) WriteText(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "%s → %s: %s\n", r.Old, r.New, r.summary())
	for _, c := range r.Changes {
		fmt.Fprintf(&b, "\n%-8s %s\n", c.Level, c.Operation())
		if c.Pointer != "" {
			fmt.Fprintf(&b, "  at %s\n", c.Pointer)
		}
		fmt.Fprintf(&b, "  %s [%s]\n", c.Message, c.Rule)
		if len(c.Breaks) == 0 {
			b.WriteString("  breaks: nobody\n")
		}
		for _, im := range c.Breaks {
			fmt.Fprintf(&b, "  breaks %s: %s\n", im.Party.Title(), im.Reason)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// jsonReport is the --json shape: the report plus its counts.
type jsonReport struct {
	*Report
	Summary map[Level]int `json:"summary"`
}

// WriteJSON writes the report as one indented JSON object: old, new,
// summary (count per level) and changes (each with rule, level, method,
// path, operationId, pointer, message and breaks).
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(jsonReport{Report: r, Summary: map[Level]int{
		LevelBreaking: r.Count(LevelBreaking), LevelWarning: r.Count(LevelWarning), LevelInfo: r.Count(LevelInfo),
	}})
}

// WriteMarkdown writes the report as GitHub-flavoured Markdown for a pull
// request comment: a summary, a table of changes, and whom each breaks.
func (r *Report) WriteMarkdown(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "### OpenAPI changes: %s → %s\n\n%s\n", md(r.Old), md(r.New), r.summary())
	if len(r.Changes) > 0 {
		b.WriteString("\n| level | operation | JSON pointer | change | breaks |\n|---|---|---|---|---|\n")
	}
	for _, c := range r.Changes {
		var breaks []string
		for _, im := range c.Breaks {
			breaks = append(breaks, "**"+md(im.Party.Title())+"**: "+md(im.Reason))
		}
		who := "nobody"
		if len(breaks) > 0 {
			who = strings.Join(breaks, "<br>")
		}
		level := string(c.Level)
		if c.Level == LevelBreaking {
			level = "**breaking**"
		}
		fmt.Fprintf(&b, "| %s | %s | `%s` | %s (`%s`) | %s |\n", level, md(c.Operation()), strings.ReplaceAll(c.Pointer, "|", `\|`), md(c.Message), c.Rule, who)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// md keeps a value from breaking a table row.
func md(s string) string {
	return strings.NewReplacer("|", `\|`, "\n", " ", "\r", " ").Replace(s)
}
