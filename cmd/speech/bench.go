package main

import (
	"context"
	"fmt"
)

// runBench is a placeholder until the subcommand lands.
func runBench(_ context.Context, e *env, _ []string) int {
	fmt.Fprintln(e.stderr, "speech bench: not implemented yet")
	return exitUsage
}
