package cliflag

import (
	"bytes"
	"errors"
	"flag"
	"io"
	"strings"
	"testing"
	"time"
)

func TestPrefixed(t *testing.T) {
	if got := Prefixed("SPEECHD")("public-url"); got != "SPEECHD_PUBLIC_URL" {
		t.Errorf("got %q, want SPEECHD_PUBLIC_URL", got)
	}
}

func TestFillFromEnv(t *testing.T) {
	tests := []struct {
		name      string
		args      []string
		env       map[string]string
		envName   func(string) string
		wantAddr  string
		wantLease time.Duration
		wantErr   string // part of the error; "" for none
	}{
		{name: "defaults without environment", envName: Prefixed("APP"), wantAddr: "def", wantLease: time.Second},
		{name: "environment fills", env: map[string]string{"APP_ADDR": ":0", "APP_LEASE": "5s"}, envName: Prefixed("APP"), wantAddr: ":0", wantLease: 5 * time.Second},
		{name: "flag wins", args: []string{"--addr", "x"}, env: map[string]string{"APP_ADDR": ":0"}, envName: Prefixed("APP"), wantAddr: "x", wantLease: time.Second},
		{name: "empty variable is unset", env: map[string]string{"APP_ADDR": ""}, envName: Prefixed("APP"), wantAddr: "def", wantLease: time.Second},
		{name: "table naming", env: map[string]string{"OTHER_ADDR": "y", "APP_LEASE": "5s"}, envName: Names(map[string]string{"addr": "OTHER_ADDR"}), wantAddr: "y", wantLease: time.Second},
		{name: "bad value names the variable", env: map[string]string{"APP_LEASE": "soon"}, envName: Prefixed("APP"), wantErr: `environment APP_LEASE="soon"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fs := flag.NewFlagSet("app", flag.ContinueOnError)
			fs.SetOutput(io.Discard)
			addr := fs.String("addr", "def", "")
			lease := fs.Duration("lease", time.Second, "")
			if err := fs.Parse(tc.args); err != nil {
				t.Fatalf("Parse(%q): %v", tc.args, err)
			}
			err := FillFromEnv(fs, func(k string) string { return tc.env[k] }, tc.envName)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("got error %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("got error %v, want none", err)
			}
			if *addr != tc.wantAddr || *lease != tc.wantLease {
				t.Errorf("got addr %q lease %v, want %q %v", *addr, *lease, tc.wantAddr, tc.wantLease)
			}
		})
	}
}

func TestParseRoutesHelp(t *testing.T) {
	tests := []struct {
		name                 string
		args                 []string
		wantErr              error // nil, flag.ErrHelp, or errAny
		wantStdout, wantErrs bool  // whether the usage lands there
	}{
		{"-h", []string{"-h"}, flag.ErrHelp, true, false},
		{"--help", []string{"--help"}, flag.ErrHelp, true, false},
		{"unknown flag", []string{"--nope"}, errAny, false, true},
		{"fine", []string{"--addr", "x"}, nil, false, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fs := flag.NewFlagSet("app", flag.ContinueOnError)
			fs.String("addr", "", "listen address")
			fs.Usage = func() { io.WriteString(fs.Output(), "usage: app\n") }
			var stdout, stderr bytes.Buffer
			err := Parse(fs, &stdout, &stderr, func() error { return fs.Parse(tc.args) })
			switch {
			case tc.wantErr == errAny && err == nil, tc.wantErr != errAny && !errors.Is(err, tc.wantErr):
				t.Errorf("got error %v, want %v", err, tc.wantErr)
			}
			if got := strings.Contains(stdout.String(), "usage: app"); got != tc.wantStdout {
				t.Errorf("usage on stdout: got %v (%q), want %v", got, stdout.String(), tc.wantStdout)
			}
			if got := strings.Contains(stderr.String(), "usage: app"); got != tc.wantErrs {
				t.Errorf("usage on stderr: got %v (%q), want %v", got, stderr.String(), tc.wantErrs)
			}
			if fs.Output() != &stderr {
				t.Error("got fs output not stderr after Parse, want stderr")
			}
		})
	}
}

// errAny stands for "some error" in the table.
var errAny = errors.New("any error")
