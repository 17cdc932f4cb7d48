package main

import (
	"context"
	"fmt"
)

// runSay is a placeholder until the subcommand lands.
func runSay(_ context.Context, e *env, _ []string) int {
	fmt.Fprintln(e.stderr, "speech say: not implemented yet")
	return exitUsage
}
