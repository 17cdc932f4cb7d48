package client_test

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/distributeai/asyncspeech/api/client"
)

// TestDownloadFileChecksTargetFirst: a path that cannot become a file fails
// before any byte is fetched, not at the rename after the whole download.
func TestDownloadFileChecksTargetFirst(t *testing.T) {
	f := newTestFakeAPI(t, client.StatusCompleted)
	c := f.client(t)
	ctx := context.Background()
	task, err := c.Speak(ctx, client.CreateParams{Input: "hello"})
	if err != nil {
		t.Fatalf("speak: %v", err)
	}
	two := *task
	two.Results = []client.Result{task.Results[0], task.Results[0]}

	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "taken-1.wav"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "plain"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		task     *client.Task
		path     string
		want     string
		wantNoFS bool // errors.Is(err, fs.ErrNotExist)
	}{
		{"path is a directory", task, dir,
			"download to " + dir + ": is a directory, want a file name such as " + filepath.Join(dir, "speech.wav"), false},
		{"directory does not exist", task, filepath.Join(dir, "missing", "out.wav"),
			"download to " + filepath.Join(dir, "missing", "out.wav") + ": directory " + filepath.Join(dir, "missing") + " does not exist: ", true},
		{"parent is a file", task, filepath.Join(dir, "plain", "out.wav"),
			"download to " + filepath.Join(dir, "plain", "out.wav") + ": " + filepath.Join(dir, "plain") + " is not a directory", false},
		{"second result's path is a directory", &two, filepath.Join(dir, "taken.wav"),
			"download to " + filepath.Join(dir, "taken-1.wav") + ": is a directory", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := f.downloads()
			paths, err := c.DownloadFile(ctx, tc.task, tc.path)
			if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
				t.Fatalf("got error %v, want one starting %q", err, tc.want)
			}
			if got := errors.Is(err, fs.ErrNotExist); got != tc.wantNoFS {
				t.Errorf("errors.Is(%v, fs.ErrNotExist) = %v, want %v", err, got, tc.wantNoFS)
			}
			if len(paths) != 0 {
				t.Errorf("got paths %v, want none", paths)
			}
			if n := f.downloads() - before; n != 0 {
				t.Errorf("sent %d download requests, want 0", n)
			}
		})
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if want := []string{"plain", "taken-1.wav"}; !slices.Equal(names, want) {
		t.Errorf("directory holds %v, want %v (nothing written)", names, want)
	}

	t.Run("an existing file is replaced", func(t *testing.T) {
		p := filepath.Join(dir, "plain")
		if _, err := c.DownloadFile(ctx, task, p); err != nil {
			t.Fatalf("download over %s: %v", p, err)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		parseWAV(t, b)
	})
}
