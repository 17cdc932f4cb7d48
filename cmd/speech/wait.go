package main

import (
	"context"
	"fmt"
)

// runWait is a placeholder until the subcommand lands.
func runWait(_ context.Context, e *env, _ []string) int {
	fmt.Fprintln(e.stderr, "speech wait: not implemented yet")
	return exitUsage
}
