package reqid

import (
	"context"
	"strings"
	"testing"
)

func TestChoose(t *testing.T) {
	tests := []struct {
		name string
		sent string
		keep bool
	}{
		{"sane id kept", "abc-123_XYZ", true},
		{"64 characters kept", strings.Repeat("a", 64), true},
		{"empty replaced", "", false},
		{"65 characters replaced", strings.Repeat("a", 65), false},
		{"space replaced", "a b", false},
		{"newline replaced", "a\nlevel=ERROR", false},
		{"non-ASCII replaced", "ü", false},
		{"DEL replaced", "a\x7f", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Choose(tt.sent)
			if tt.keep && got != tt.sent {
				t.Errorf("Choose(%q) = %q, want it kept", tt.sent, got)
			}
			if !tt.keep && (got == tt.sent || !Valid(got) || len(got) != 16) {
				t.Errorf("Choose(%q) = %q, want a fresh valid 16-digit id", tt.sent, got)
			}
		})
	}
}

func TestNewIsFresh(t *testing.T) {
	a, b := New(), New()
	if a == b {
		t.Errorf("New() twice = %q both times, want different ids", a)
	}
}

func TestContext(t *testing.T) {
	ctx := context.Background()
	if got := From(ctx); got != "" {
		t.Errorf("From(empty context) = %q, want \"\"", got)
	}
	if got := From(With(ctx, "id-1")); got != "id-1" {
		t.Errorf("From(With(ctx, id-1)) = %q, want id-1", got)
	}
}
