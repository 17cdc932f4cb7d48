package main

import (
	"context"
	"fmt"
)

// runCreate is a placeholder until the subcommand lands.
func runCreate(_ context.Context, e *env, _ []string) int {
	fmt.Fprintln(e.stderr, "speech create: not implemented yet")
	return exitUsage
}
