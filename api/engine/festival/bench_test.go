package festival

import (
	"context"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/distributeai/asyncspeech/api/engine"
	"github.com/distributeai/asyncspeech/api/engine/internal/enginetest"
)

// BenchmarkSynthesizeWarm is one request of nora (the HTS voice) for a
// 13-word sentence through the engine's warm process; compare with
// BenchmarkText2waveCold, the same synthesis as one text2wave run (what the
// engine did before it kept processes warm), in the same run.
func BenchmarkSynthesizeWarm(b *testing.B) {
	if _, err := exec.LookPath(DefaultBinary); err != nil || !VoiceInstalled("", VoiceSLT) {
		b.Skip("festival or festvox-us-slt-hts not installed")
	}
	e, err := New(Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer e.Close()
	req := enginetest.Defaults(enginetest.Sentence, "nora")
	if _, err := e.Synthesize(context.Background(), req); err != nil { // start the process
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := e.Synthesize(context.Background(), req); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkText2waveCold is the baseline: one text2wave process per request.
func BenchmarkText2waveCold(b *testing.B) {
	t2w, err := exec.LookPath("text2wave")
	if err != nil || !VoiceInstalled("", VoiceSLT) {
		b.Skip("text2wave or festvox-us-slt-hts not installed")
	}
	out := filepath.Join(b.TempDir(), "out.wav")
	for b.Loop() {
		cmd := exec.Command(t2w, "-o", out, "-eval", "(voice_"+VoiceSLT+")")
		cmd.Env = engine.ChildEnv(nil)
		cmd.Stdin = strings.NewReader(enginetest.Sentence)
		if o, err := cmd.CombinedOutput(); err != nil {
			b.Fatalf("text2wave: %v: %s", err, o)
		}
	}
}
