package main

import (
	"context"
	"fmt"
)

// runProxy is a placeholder until the subcommand lands.
func runProxy(_ context.Context, e *env, _ []string) int {
	fmt.Fprintln(e.stderr, "speech proxy: not implemented yet")
	return exitUsage
}
