package daemon

import (
	"testing"

	"github.com/distributeai/asyncspeech/api/engine"
)

// TestEngineNice: --engine-nice 0 is the default steps below speechd,
// negative is none, 1 to 19 are themselves, and more is refused.
func TestEngineNice(t *testing.T) {
	tests := []struct {
		name    string
		in      int
		want    int
		wantErr bool
	}{
		{"default", 0, engine.DefaultNice, false},
		{"off", -1, 0, false},
		{"one", 1, 1, false},
		{"lowest", engine.MaxNice, engine.MaxNice, false},
		{"past the lowest", engine.MaxNice + 1, 0, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := (Config{EngineNice: tc.in}).withDefaults()
			if (err != nil) != tc.wantErr {
				t.Fatalf("withDefaults: got error %v, want error %v", err, tc.wantErr)
			}
			if err != nil {
				return
			}
			if got := engineNice(cfg.EngineNice); got != tc.want {
				t.Errorf("engineNice(%d): got %d, want %d", tc.in, got, tc.want)
			}
		})
	}
}
