package daemon

import (
	"bytes"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/distributeai/asyncspeech/api/server/results"
	"github.com/distributeai/asyncspeech/internal/logtest"
)

// TestLinkSecretFile: a missing, empty or short secret file gets a fresh
// secret written whole (0600, nothing else left in the directory); a good
// one is kept as it is.
func TestLinkSecretFile(t *testing.T) {
	good := strings.Repeat("k", results.MinSecretLen) + "\n"
	tests := []struct {
		name     string
		existing *string // nil: no file
		keep     bool
		logged   string
	}{
		{"missing", nil, false, "generated a result-link secret"},
		{"empty, left by a crash", ptr(""), false, "replacing a link secret file too short"},
		{"short, cut by a full disk", ptr("0123456789"), false, "replacing a link secret file too short"},
		{"whitespace only", ptr("   \n"), false, "replacing a link secret file too short"},
		{"good", &good, true, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, LinkSecretFile)
			if tt.existing != nil {
				if err := os.WriteFile(path, []byte(*tt.existing), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			var logs logtest.Buffer
			got, err := loadOrCreateSecret(dir, slog.New(slog.NewTextHandler(&logs, nil)))
			if err != nil {
				t.Fatalf("loadOrCreateSecret: %v", err)
			}
			if len(got) < results.MinSecretLen {
				t.Errorf("secret: got %d bytes, want at least %d", len(got), results.MinSecretLen)
			}
			if tt.keep && string(got) != strings.TrimSpace(good) {
				t.Errorf("secret: got %q, want the existing %q", got, strings.TrimSpace(good))
			}
			b, err := os.ReadFile(path)
			if err != nil || !bytes.Equal(bytes.TrimSpace(b), got) {
				t.Errorf("file: got %q, %v, want the secret returned, %q", b, err, got)
			}
			if fi, err := os.Stat(path); err == nil && !tt.keep && fi.Mode().Perm() != 0o600 {
				t.Errorf("file mode: got %v, want -rw-------", fi.Mode().Perm())
			}
			if entries, _ := os.ReadDir(dir); len(entries) != 1 {
				t.Errorf("data directory: got %d entries, want only %s", len(entries), LinkSecretFile)
			}
			if !strings.Contains(logs.String(), tt.logged) {
				t.Errorf("log: got %q, want it to contain %q", logs.String(), tt.logged)
			}
			again, err := loadOrCreateSecret(dir, slog.New(slog.DiscardHandler))
			if err != nil || !bytes.Equal(again, got) {
				t.Errorf("second load: got %q, %v, want the same secret %q", again, err, got)
			}
		})
	}
}

// TestLinkSecretConcurrentFirstWrite: processes starting at once on a new
// (or crash-damaged) data directory agree on one secret, the one on disk.
func TestLinkSecretConcurrentFirstWrite(t *testing.T) {
	for _, existing := range []string{"none", "empty"} {
		t.Run(existing, func(t *testing.T) {
			dir := t.TempDir()
			if existing == "empty" {
				if err := os.WriteFile(filepath.Join(dir, LinkSecretFile), nil, 0o600); err != nil {
					t.Fatal(err)
				}
			}
			const n = 8
			got := make([][]byte, n)
			errs := make([]error, n)
			var wg sync.WaitGroup
			for i := range n {
				wg.Go(func() { got[i], errs[i] = loadOrCreateSecret(dir, slog.New(slog.DiscardHandler)) })
			}
			wg.Wait()
			onDisk, err := os.ReadFile(filepath.Join(dir, LinkSecretFile))
			if err != nil {
				t.Fatal(err)
			}
			for i := range n {
				if errs[i] != nil || !bytes.Equal(got[i], bytes.TrimSpace(onDisk)) {
					t.Errorf("caller %d: got %q, %v, want the secret on disk %q", i, got[i], errs[i], bytes.TrimSpace(onDisk))
				}
			}
		})
	}
}

func ptr(s string) *string { return &s }
