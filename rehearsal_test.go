package asyncspeech_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/distributeai/asyncspeech/api/specdiff"
)

// nextVendorSpec is a plausible next version of the vendor's document: an
// optional `duration` in the result, an optional `speed` in create, and a
// new task status, CANCELLED.
const nextVendorSpec = "testdata/next-vendor/openapi.json"

// TestRehearseVendorChange does what a maintainer does when the vendor
// publishes a new openapi.json, on a copy of the module: swap the document
// in, regenerate, build, vet, run the client's tests, and ask `speech spec
// diff` what the change breaks. It proves the README's procedure works on
// this module as it is now, and fails the moment regeneration does not
// (a generator or config change, hand-written code that depends on
// generated names the new document drops).
//
// It runs the go command the tests run with, in the same module and build
// caches, so it needs no network once the module cache is warm.
func TestRehearseVendorChange(t *testing.T) {
	if testing.Short() {
		t.Skip("skipping the regeneration rehearsal in -short mode (it builds the module twice)")
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go command not installed")
	}
	mod := filepath.Join(t.TempDir(), "module")
	copyModule(t, ".", mod)
	oldSpec := filepath.Join(t.TempDir(), "openapi.old.json")
	copyFile(t, "openapi.json", oldSpec)
	copyFile(t, nextVendorSpec, filepath.Join(mod, "openapi.json"))
	before, err := os.ReadFile(filepath.Join(mod, "generated", "api.gen.go"))
	if err != nil {
		t.Fatal(err)
	}

	run := func(args ...string) {
		t.Helper()
		start := time.Now()
		cmd := exec.Command(goBin, args...)
		cmd.Dir = mod
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("go %s in the copy with %s: %v\n%s", strings.Join(args, " "), nextVendorSpec, err, tail(out, 60))
		}
		t.Logf("go %s: %s", strings.Join(args, " "), time.Since(start).Round(time.Millisecond))
	}
	run("generate", "./...")
	after, err := os.ReadFile(filepath.Join(mod, "generated", "api.gen.go"))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(before, after) {
		t.Fatal("go generate left generated/api.gen.go unchanged for a document with new fields")
	}
	// The new fields and the new status reach the generated models.
	for _, want := range []string{`Duration\s+\*float64`, `Speed\s+\*float64`, `"CANCELLED"`} {
		if !regexp.MustCompile(want).Match(after) {
			t.Errorf("regenerated generated/api.gen.go has no match for %s", want)
		}
	}
	run("build", "./...")
	run("vet", "./...")
	run("test", "-count=1", "./api/client/...")
	speech := filepath.Join(t.TempDir(), "speech")
	run("build", "-o", speech, "./cmd/speech")

	cmd := exec.Command(speech, "spec", "diff", "--json", oldSpec, "openapi.json")
	cmd.Dir = mod
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err = cmd.Run()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 1 {
		t.Fatalf("speech spec diff: got %v, want exit status 1 (breaking changes)\nstdout:\n%s\nstderr:\n%s", err, stdout.String(), stderr.String())
	}
	var report specdiff.Report
	if err := json.Unmarshal(stdout.Bytes(), &report); err != nil {
		t.Fatalf("speech spec diff --json: %v\n%s", err, stdout.String())
	}
	const (
		create200 = "/paths/~1async~1speech~1create/post/requestBody/content/application~1json/schema"
		result200 = "/paths/~1async~1speech~1result/post/responses/200/content/application~1json/schema"
	)
	want := []struct {
		pointer string
		level   specdiff.Level
		rule    string // "" for any
		breaks  []specdiff.Party
	}{
		{result200 + "/properties/duration", specdiff.LevelBreaking, specdiff.RuleClosedResponseProperty, []specdiff.Party{specdiff.PartyClient, specdiff.PartyContract}},
		{result200 + "/properties/status/enum", specdiff.LevelBreaking, specdiff.RuleStatusAdded, []specdiff.Party{specdiff.PartyClient, specdiff.PartyContract}},
		{create200 + "/properties/speed", specdiff.LevelWarning, "", []specdiff.Party{specdiff.PartyServer}},
	}
	if len(report.Changes) != len(want) {
		t.Errorf("got %d changes, want %d:\n%s", len(report.Changes), len(want), stdout.String())
	}
	for _, w := range want {
		i := slices.IndexFunc(report.Changes, func(c specdiff.Change) bool { return c.Pointer == w.pointer })
		if i < 0 {
			t.Errorf("no change at %s:\n%s", w.pointer, stdout.String())
			continue
		}
		c := report.Changes[i]
		if c.Level != w.level || (w.rule != "" && c.Rule != w.rule) {
			t.Errorf("%s: got %s by %s, want %s by %q", w.pointer, c.Level, c.Rule, w.level, w.rule)
		}
		for _, p := range w.breaks {
			if !slices.ContainsFunc(c.Breaks, func(im specdiff.Impact) bool { return im.Party == p }) {
				t.Errorf("%s: breaks %v, want it to name %s", w.pointer, c.Breaks, p)
			}
		}
	}
}

// copyModule copies the module's files to dst, leaving out version control
// and what running the module leaves behind.
func copyModule(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return err
		}
		if d.IsDir() {
			switch d.Name() {
			case ".git", "speechd-data", "node_modules":
				return filepath.SkipDir
			}
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		if !d.Type().IsRegular() {
			return nil
		}
		copyFile(t, path, filepath.Join(dst, rel))
		return nil
	})
	if err != nil {
		t.Fatalf("copy module to %s: %v", dst, err)
	}
}

func copyFile(t *testing.T, src, dst string) {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// tail keeps the last n lines of a command's output for a failure message.
func tail(out []byte, n int) string {
	lines := strings.Split(strings.TrimRight(string(out), "\n"), "\n")
	if len(lines) > n {
		lines = append([]string{"…"}, lines[len(lines)-n:]...)
	}
	return strings.Join(lines, "\n")
}
