package daemon

import (
	"log/slog"
	"testing"

	"github.com/distributeai/asyncspeech/api/store/cache"
	"github.com/distributeai/asyncspeech/api/store/memory"
)

// TestTaskCacheMode: "auto" caches every status only where this process is
// the store's one writer; elsewhere finished tasks only.
func TestTaskCacheMode(t *testing.T) {
	tests := []struct {
		name, setting, kind, role string
		want                      string // "off", "all", "terminal"
	}{
		{"memory", "auto", "memory", RoleAll, "all"},
		{"sqlite all roles", "auto", "sqlite", RoleAll, "all"},
		{"sqlite api node", "auto", "sqlite", RoleAPI, "terminal"},
		{"postgres", "auto", "postgres", RoleAll, "terminal"},
		{"injected", "auto", "injected", RoleAll, "terminal"},
		{"forced all", "all", "postgres", RoleAll, "all"},
		{"off", "off", "sqlite", RoleAll, "off"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			inner := memory.New()
			st, err := withTaskCache(inner, tc.kind, Config{TaskCache: tc.setting, Role: tc.role}, slog.New(slog.DiscardHandler))
			if err != nil {
				t.Fatalf("withTaskCache: %v", err)
			}
			c, ok := st.(*cache.Store)
			got := "off"
			if ok {
				got = "all"
				if c.Mode() == cache.ModeTerminal {
					got = "terminal"
				}
			}
			if got != tc.want {
				t.Errorf("got %s, want %s", got, tc.want)
			}
		})
	}
	if _, err := (Config{TaskCache: "sometimes"}).withDefaults(); err == nil {
		t.Error(`TaskCache "sometimes": got no error, want one`)
	}
}
