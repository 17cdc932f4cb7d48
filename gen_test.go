package asyncspeech_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"testing"
)

// TestGeneratedIsUpToDate regenerates the bindings into a temporary directory
// with the pinned generator and the committed config, and fails if the
// committed generated/api.gen.go differs: it catches both a hand edit of the
// generated file and a spec change that was not followed by `go generate`.
func TestGeneratedIsUpToDate(t *testing.T) {
	if testing.Short() {
		t.Skip("skipping generator run in -short mode")
	}
	cfg, err := os.ReadFile("generated/config.yaml")
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "api.gen.go")
	outLine := regexp.MustCompile(`(?m)^output: .*$`)
	if !outLine.Match(cfg) {
		t.Fatal("generated/config.yaml has no top-level output: line")
	}
	cfg = outLine.ReplaceAll(cfg, []byte("output: "+out))
	cfgPath := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(cfgPath, cfg, 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("go", "run", "github.com/oapi-codegen/oapi-codegen/v2/cmd/oapi-codegen", "-config", cfgPath, "openapi.json")
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("run generator: %v\n%s", err, msg)
	}
	want, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile("generated/api.gen.go")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("generated/api.gen.go differs from a fresh generation (%d vs %d bytes): run `go generate ./...` and never edit generated files by hand", len(got), len(want))
	}
}
