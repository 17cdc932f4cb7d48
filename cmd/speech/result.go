package main

import (
	"context"
	"fmt"
)

// runResult is a placeholder until the subcommand lands.
func runResult(_ context.Context, e *env, _ []string) int {
	fmt.Fprintln(e.stderr, "speech result: not implemented yet")
	return exitUsage
}
