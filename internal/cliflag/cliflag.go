// Package cliflag holds the flag handling both commands (speechd and
// speech) share: a flag not given on the command line is read from its
// environment variable, and help asked for goes to stdout while the usage
// printed after a mistake goes to stderr.
package cliflag

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
)

// Prefixed returns the environment naming of speechd: prefix, "_", and the
// flag name in capitals with - as _ (Prefixed("SPEECHD")("public-url") is
// SPEECHD_PUBLIC_URL).
func Prefixed(prefix string) func(flagName string) string {
	return func(flagName string) string {
		return prefix + "_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
	}
}

// Names returns the environment naming of a fixed table, flag name to
// variable; a flag not in it has no variable.
func Names(vars map[string]string) func(flagName string) string {
	return func(flagName string) string { return vars[flagName] }
}

// FillFromEnv sets every flag of fs that the command line did not give from
// its environment variable (envName of the flag's name; "" for none), when
// that variable is set and not empty: flags win over the environment. Call
// it after fs.Parse. The first value the flag refuses is the error, naming
// the variable and the value.
func FillFromEnv(fs *flag.FlagSet, getenv func(string) string, envName func(flagName string) string) error {
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	var err error
	fs.VisitAll(func(f *flag.Flag) {
		name := envName(f.Name)
		if err != nil || given[f.Name] || name == "" {
			return
		}
		if v := getenv(name); v != "" {
			if serr := fs.Set(f.Name, v); serr != nil {
				err = fmt.Errorf("environment %s=%q: %w", name, v, serr)
			}
		}
	})
	return err
}

// Parse runs parse (fs.Parse, or a caller's loop around it) with fs's
// output captured and sends what the flag package printed where it
// belongs: to stdout when help was asked for (-h, -help, --help; the error
// is then flag.ErrHelp and the caller exits 0), to stderr after a mistake.
// Afterwards fs's output is stderr, for the caller's own usage messages.
func Parse(fs *flag.FlagSet, stdout, stderr io.Writer, parse func() error) error {
	var msg bytes.Buffer
	fs.SetOutput(&msg)
	err := parse()
	fs.SetOutput(stderr)
	if errors.Is(err, flag.ErrHelp) {
		_, _ = stdout.Write(msg.Bytes())
	} else {
		_, _ = stderr.Write(msg.Bytes())
	}
	return err
}
