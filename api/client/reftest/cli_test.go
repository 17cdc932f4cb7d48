package reftest_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestSpeechSayAgainstReferenceServer runs the one-line CLI of the docs,
// built from cmd/speech, against the reference server.
func TestSpeechSayAgainstReferenceServer(t *testing.T) {
	if testing.Short() {
		t.Skip("builds cmd/speech; skipped with -short")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "speech")
	if out, err := exec.Command("go", "build", "-o", bin, "github.com/distributeai/asyncspeech/cmd/speech").CombinedOutput(); err != nil {
		t.Fatalf("go build cmd/speech: %v\n%s", err, out)
	}
	base := startReference(t)
	cmd := exec.Command(bin, "say", "Hello, world.", "-o", "hello.wav", "--timeout", "30s")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "DISTRIBUTE_API_KEY=reftest-key", "DISTRIBUTE_BASE_URL="+base)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("speech say: %v\nstdout %s\nstderr %s", err, stdout.String(), stderr.String())
	}
	if !strings.Contains(stdout.String(), "COMPLETED") || !strings.Contains(stdout.String(), "wrote hello.wav") {
		t.Errorf("stdout %q, want the COMPLETED status and the file written", stdout.String())
	}
	b, err := os.ReadFile(filepath.Join(dir, "hello.wav"))
	if err != nil {
		t.Fatal(err)
	}
	if size := riffDataSize(t, b); size == 0 {
		t.Error("WAV data chunk is empty")
	}
}
