package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/distributeai/asyncspeech/api/client"
	"github.com/distributeai/asyncspeech/internal/cliflag"
)

// userAgent identifies the command to servers.
const userAgent = "speech-cli/1"

// clientFlags are the flags every client subcommand (create, result, wait,
// say) shares.
type clientFlags struct {
	apiKey  string
	baseURL string
	json    bool
	timeout time.Duration
}

// newClientFlagSet registers the shared flags on a fresh flag set. The API
// key flag has no default shown, so `-h` never prints the key from the
// environment.
func newClientFlagSet(e *env, name, synopsis string, timeout time.Duration) (*flag.FlagSet, *clientFlags) {
	fs := flag.NewFlagSet("speech "+name, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	cf := &clientFlags{}
	fs.StringVar(&cf.apiKey, "api-key", "", "API key (default $"+client.EnvAPIKey+")")
	fs.StringVar(&cf.baseURL, "base-url", "", "server URL (default $"+client.EnvBaseURL+", then "+client.DefaultBaseURL+")")
	fs.BoolVar(&cf.json, "json", false, "print JSON for scripts")
	fs.DurationVar(&cf.timeout, "timeout", timeout, "give up after this long (0: no limit)")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: speech %s %s\n\nflags:\n", name, synopsis)
		fs.PrintDefaults()
	}
	return fs, cf
}

// parseArgs parses flags wherever they appear among the positional
// arguments (`speech create "hi" --voice nora` and `speech create --voice
// nora "hi"` mean the same), which the flag package alone does not allow.
// Everything after "--" is positional.
func parseArgs(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		if consumed := len(args) - len(rest); consumed > 0 && args[consumed-1] == "--" {
			return append(pos, rest...), nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

// parseClientArgs parses a client subcommand's command line and checks the
// number of positional arguments is within [minPos, maxPos] (maxPos < 0: no
// limit), then fills --api-key and --base-url from the environment when
// not given. A non-nil exit code means "stop and return it". Help asked for
// (-h, --help) goes to stdout with exit 0; a bad flag or argument count
// prints the usage to stderr with exit 2.
func parseClientArgs(e *env, fs *flag.FlagSet, args []string, minPos, maxPos int) ([]string, *int) {
	var pos []string
	err := cliflag.Parse(fs, e.stdout, e.stderr, func() (err error) {
		pos, err = parseArgs(fs, args)
		return err
	})
	out := fs.Output()
	code := exitUsage
	if errors.Is(err, flag.ErrHelp) {
		code = exitOK
		return nil, &code
	}
	if err != nil {
		return nil, &code
	}
	if stop := e.fillEnv(fs, clientEnv()); stop != nil {
		return nil, stop
	}
	if len(pos) < minPos || (maxPos >= 0 && len(pos) > maxPos) {
		want := fmt.Sprintf("%d to %d arguments", minPos, maxPos)
		switch {
		case maxPos < 0:
			want = fmt.Sprintf("at least %d arguments", minPos)
		case minPos == 1 && maxPos == 1:
			want = "one argument"
		case minPos == maxPos:
			want = fmt.Sprintf("%d arguments", minPos)
		}
		fmt.Fprintf(out, "%s: want %s, got %d\n", fs.Name(), want, len(pos))
		fs.Usage()
		return nil, &code
	}
	return pos, nil
}

// parse is parseClientArgs followed by the checks of the shared flags.
func (cf *clientFlags) parse(e *env, fs *flag.FlagSet, args []string, minPos, maxPos int) ([]string, *int) {
	pos, stop := parseClientArgs(e, fs, args, minPos, maxPos)
	if stop != nil {
		return nil, stop
	}
	if cf.timeout < 0 {
		// A negative duration would otherwise read as "no limit", the
		// opposite of what a user writing one may expect.
		fmt.Fprintf(fs.Output(), "%s: --timeout %v is negative: use a positive duration, or 0 for no limit\n", fs.Name(), cf.timeout)
		code := exitUsage
		return nil, &code
	}
	return pos, nil
}

// newClient builds the API client from the flags, which parseClientArgs
// filled from the environment (flags win). A missing key or a malformed URL
// is a usage error: the message is printed and ok is false.
func (cf *clientFlags) newClient(e *env, name string) (c *client.Client, ok bool) {
	key := cf.apiKey
	if key == "" {
		fmt.Fprintf(e.stderr, "speech %s: no API key: use --api-key or set %s\n", name, client.EnvAPIKey)
		return nil, false
	}
	base := cf.baseURL
	if base == "" {
		base = client.DefaultBaseURL
	}
	c, err := client.New(client.WithAPIKey(key), client.WithBaseURL(base), client.WithUserAgent(userAgent))
	if err != nil {
		fmt.Fprintf(e.stderr, "speech %s: %v\n", name, err)
		return nil, false
	}
	return c, true
}

// withTimeout applies --timeout to ctx.
func (cf *clientFlags) withTimeout(ctx context.Context) (context.Context, context.CancelFunc) {
	if cf.timeout > 0 {
		return context.WithTimeout(ctx, cf.timeout)
	}
	return context.WithCancel(ctx)
}

// inputText returns the text to speak: the one TEXT argument, or standard
// input when it is "-". Empty text is a usage error, reported in full.
func inputText(e *env, arg string) (string, error) {
	if arg != "-" {
		if strings.TrimSpace(arg) == "" {
			return "", errors.New("no text to speak: TEXT is empty")
		}
		return arg, nil
	}
	b, err := io.ReadAll(io.LimitReader(e.stdin, 1<<20))
	if err != nil {
		return "", fmt.Errorf("read text from standard input: %w", err)
	}
	text := strings.TrimSpace(string(b))
	if text == "" {
		return "", errors.New("no text to speak: standard input is empty")
	}
	return text, nil
}
