package main

import (
	"context"
	"fmt"
)

// runContract is a placeholder until the subcommand lands.
func runContract(_ context.Context, e *env, _ []string) int {
	fmt.Fprintln(e.stderr, "speech contract: not implemented yet")
	return exitUsage
}
