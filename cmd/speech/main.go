// Command speech is the client command line for Distribute.AI's asynchronous
// speech API and for servers that keep its contract: create tasks, read and
// wait for results, turn text into a WAV file, run the contract suite, run a
// validating proxy, and measure a server under load.
//
// Each subcommand lives in its own file as run<Name>(ctx, env, args) int.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
)

// Exit codes that scripts rely on (documented in docs/client.md).
const (
	exitOK        = 0
	exitFailure   = 1 // anything not covered below (e.g. a violated contract)
	exitUsage     = 2
	exitAPI       = 3
	exitTaskError = 4
	exitTimeout   = 5
)

// env is what a subcommand may touch of the process, so tests can run
// subcommands in-process with their own streams and environment.
type env struct {
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
	getenv func(string) string
	// isTerminal reports whether stdout is a terminal (live status lines).
	isTerminal bool
}

type command struct {
	run     func(ctx context.Context, e *env, args []string) int
	summary string
}

func commands() map[string]command {
	return map[string]command{
		"create":   {runCreate, "queue a speech task and print its id"},
		"result":   {runResult, "print a task's status and result URLs"},
		"wait":     {runWait, "wait until a task is COMPLETED or ERROR"},
		"say":      {runSay, "turn text into an audio file (create, wait, download)"},
		"contract": {runContract, "check a server against the contract"},
		"proxy":    {runProxy, "validating reverse proxy in front of a server"},
		"bench":    {runBench, "closed-loop load generator"},
		"spec":     {runSpec, "spec diff OLD NEW: what a new openapi.json breaks, and for whom"},
	}
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, &env{
		stdin:      os.Stdin,
		stdout:     os.Stdout,
		stderr:     os.Stderr,
		getenv:     os.Getenv,
		isTerminal: stdoutIsTerminal(),
	}, os.Args[1:])
	stop()
	os.Exit(code)
}

func run(ctx context.Context, e *env, args []string) int {
	cmds := commands()
	args = hoistGlobalFlags(args)
	if len(args) == 0 {
		usage(e.stderr, cmds)
		return exitUsage
	}
	switch args[0] {
	case "-h", "-help", "--help":
		// Help that was asked for is the command's output, so it goes to
		// stdout (`speech --help | less` works); usage after a mistake
		// stays on stderr.
		usage(e.stdout, cmds)
		return exitOK
	case "help":
		if len(args) == 1 {
			usage(e.stdout, cmds)
			return exitOK
		}
		c, ok := cmds[args[1]]
		if !ok || len(args) > 2 {
			fmt.Fprintf(e.stderr, "speech help: want one command name, got %q\n", strings.Join(args[1:], " "))
			usage(e.stderr, cmds)
			return exitUsage
		}
		return c.run(ctx, e, []string{"--help"})
	}
	c, ok := cmds[args[0]]
	if !ok {
		fmt.Fprintf(e.stderr, "speech: unknown command %q\n", args[0])
		usage(e.stderr, cmds)
		return exitUsage
	}
	return c.run(ctx, e, args[1:])
}

// hoistGlobalFlags lets the global flags --api-key and --base-url come
// before the subcommand (`speech --base-url URL say ...`) by moving them
// after it, where each subcommand's own flag set parses them.
func hoistGlobalFlags(args []string) []string {
	var globals []string
	for len(args) > 0 {
		name, _, hasValue := strings.Cut(strings.TrimLeft(args[0], "-"), "=")
		if !strings.HasPrefix(args[0], "-") || (name != "api-key" && name != "base-url") {
			break
		}
		n := 1
		if !hasValue && len(args) > 1 {
			n = 2
		}
		globals = append(globals, args[:n]...)
		args = args[n:]
	}
	if len(globals) == 0 || len(args) == 0 {
		return append(globals, args...)
	}
	return append(append([]string{args[0]}, globals...), args[1:]...)
}

func usage(w io.Writer, cmds map[string]command) {
	fmt.Fprintln(w, "usage: speech [--api-key KEY] [--base-url URL] <command> [flags]\n\ncommands:")
	for _, name := range []string{"create", "result", "wait", "say", "contract", "proxy", "bench", "spec"} {
		fmt.Fprintf(w, "  %-9s %s\n", name, cmds[name].summary)
	}
	fmt.Fprintln(w, "\n`speech help COMMAND` (or `speech COMMAND -h`) shows a command's arguments and flags.")
}

func stdoutIsTerminal() bool {
	fi, err := os.Stdout.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
