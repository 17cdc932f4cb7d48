package main

import (
	"flag"
	"fmt"

	"github.com/distributeai/asyncspeech/api/client"
	"github.com/distributeai/asyncspeech/internal/cliflag"
)

// clientEnv names the environment variables of the flags every subcommand
// that talks to a server shares; parseClientArgs reads them.
func clientEnv() map[string]string {
	return map[string]string{"api-key": client.EnvAPIKey, "base-url": client.EnvBaseURL}
}

// fillEnv sets the flags of fs that the command line did not give from
// their environment variables (vars: flag name to variable): flags win
// over the environment. A value a flag refuses is a usage error, printed;
// a non-nil exit code means "stop and return it".
func (e *env) fillEnv(fs *flag.FlagSet, vars map[string]string) *int {
	if err := cliflag.FillFromEnv(fs, e.getenv, cliflag.Names(vars)); err != nil {
		fmt.Fprintf(e.stderr, "%s: %v\n", fs.Name(), err)
		code := exitUsage
		return &code
	}
	return nil
}
