package main

import (
	"context"
	"flag"
	"fmt"
	"time"

	"github.com/distributeai/asyncspeech/api/specdiff"
)

// runSpec dispatches `speech spec SUBCOMMAND`; diff is the only one.
func runSpec(ctx context.Context, e *env, args []string) int {
	const use = "usage: speech spec diff [flags] OLD NEW   (speech spec diff -h for the flags)"
	if len(args) == 0 {
		fmt.Fprintln(e.stderr, use)
		return exitUsage
	}
	switch args[0] {
	case "diff":
		return runSpecDiff(ctx, e, args[1:])
	case "-h", "-help", "--help", "help":
		fmt.Fprintln(e.stdout, use)
		return exitOK
	}
	fmt.Fprintf(e.stderr, "speech spec: unknown subcommand %q\n%s\n", args[0], use)
	return exitUsage
}

// runSpecDiff compares two versions of the OpenAPI document and lists each
// change with its level, operation, JSON pointer and whom it breaks: exit 0
// when nothing reaches --fail-on, 1 when something does, 2 on a usage error
// or a document that cannot be read or parsed.
func runSpecDiff(ctx context.Context, e *env, args []string) int {
	fs := flag.NewFlagSet("speech spec diff", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	asJSON := fs.Bool("json", false, "print the report as JSON")
	asMarkdown := fs.Bool("markdown", false, "print the report as Markdown (for a pull request comment)")
	failOn := fs.String("fail-on", string(specdiff.LevelBreaking), "exit 1 when a change is at this level or above: breaking, warning or info")
	timeout := fs.Duration("timeout", 30*time.Second, "give up fetching an http(s) document after this long")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: speech spec diff [flags] OLD NEW\n\n"+
			"Compares two versions of the OpenAPI document (each a file, an http(s) URL, or - for\n"+
			"standard input) and lists every change with its level (breaking, warning, info), the\n"+
			"operation, the JSON pointer of what changed and whom it breaks: Go clients of this\n"+
			"module, servers implementing the spec (speechd), the contract suite and proxy.\n"+
			"Exit status: 0 nothing at --fail-on or above, 1 something is, 2 usage error or a\n"+
			"document that cannot be read or parsed.\n\nflags:\n")
		fs.PrintDefaults()
	}
	pos, stop := parseClientArgs(e, fs, args, 2, 2)
	if stop != nil {
		return *stop
	}
	threshold, err := specdiff.ParseLevel(*failOn)
	if err != nil {
		fmt.Fprintf(e.stderr, "speech spec diff: --fail-on: %v\n", err)
		return exitUsage
	}
	if *asJSON && *asMarkdown {
		fmt.Fprintln(e.stderr, "speech spec diff: --json and --markdown exclude each other")
		return exitUsage
	}
	if pos[0] == "-" && pos[1] == "-" {
		fmt.Fprintln(e.stderr, "speech spec diff: only one of OLD and NEW can be - (standard input)")
		return exitUsage
	}
	if *timeout <= 0 {
		fmt.Fprintln(e.stderr, "speech spec diff: --timeout must be positive")
		return exitUsage
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	rd := specdiff.Reader{Stdin: e.stdin}
	var docs [2]*specdiff.Document
	for i, src := range pos {
		data, err := rd.Read(ctx, src)
		if err == nil {
			docs[i], err = specdiff.Parse(ctx, src, data)
		}
		if err != nil {
			fmt.Fprintf(e.stderr, "speech spec diff: %v\n", err)
			return exitUsage
		}
	}
	report, err := specdiff.Compare(docs[0], docs[1])
	if err != nil {
		fmt.Fprintf(e.stderr, "speech spec diff: %v\n", err)
		return exitUsage
	}
	switch {
	case *asJSON:
		err = report.WriteJSON(e.stdout)
	case *asMarkdown:
		err = report.WriteMarkdown(e.stdout)
	default:
		err = report.WriteText(e.stdout)
	}
	if err != nil {
		fmt.Fprintf(e.stderr, "speech spec diff: write report: %v\n", err)
		return exitFailure
	}
	if report.Fails(threshold) {
		return exitFailure
	}
	return exitOK
}
