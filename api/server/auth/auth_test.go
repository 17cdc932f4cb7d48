package auth

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func TestAuthenticate(t *testing.T) {
	configured := New([]string{"alpha", "beta", ""})
	open := New(nil)
	tests := []struct {
		name    string
		a       *Authenticator
		header  string
		wantKey string // key whose owner is expected; "" when an error is
		wantErr error
	}{
		{"raw configured key", configured, "alpha", "alpha", nil},
		{"bearer configured key", configured, "Bearer beta", "beta", nil},
		{"lowercase bearer", configured, "bearer beta", "beta", nil},
		{"spaces around", configured, "  Bearer   alpha  ", "alpha", nil},
		{"unknown key", configured, "gamma", "", ErrUnknownKey},
		{"prefix of a key", configured, "alph", "", ErrUnknownKey},
		{"empty header", configured, "", "", ErrMissingKey},
		{"bearer without key", configured, "Bearer ", "", ErrMissingKey},
		{"open mode any key", open, "whatever", "whatever", nil},
		{"open mode bearer", open, "Bearer whatever", "whatever", nil},
		{"open mode empty", open, "", "", ErrMissingKey},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			owner, err := tc.a.Authenticate(tc.header)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("err: got %v, want %v", err, tc.wantErr)
			}
			if tc.wantErr == nil && owner != OwnerOf(tc.wantKey) {
				t.Errorf("owner: got %q, want OwnerOf(%q)", owner, tc.wantKey)
			}
		})
	}
}

func TestOwnerIsHashNotKey(t *testing.T) {
	o := OwnerOf("secret")
	// sha256("secret")
	const want = "2bb80d537b1da3e38bd30361aa855686bde0eacd7162fef6a25fe97bf527a25b"
	if o != want {
		t.Errorf("OwnerOf: got %s, want %s", o, want)
	}
	if OwnerOf("a") == OwnerOf("b") {
		t.Error("distinct keys share an owner")
	}
}

func TestModeAndCount(t *testing.T) {
	if !New(nil).Open() || !New([]string{""}).Open() {
		t.Error("no keys: got closed, want open development mode")
	}
	a := New([]string{"k", "k", "j"})
	if a.Open() || a.Keys() != 2 {
		t.Errorf("got open=%v keys=%d, want closed with 2 distinct keys", a.Open(), a.Keys())
	}
}

func TestOwnerContext(t *testing.T) {
	if _, ok := Owner(context.Background()); ok {
		t.Error("empty context: got an owner")
	}
	o, ok := Owner(WithOwner(context.Background(), "abc"))
	if !ok || o != "abc" {
		t.Errorf("got %q %v, want abc true", o, ok)
	}
}

func TestParseAndReadKeys(t *testing.T) {
	if got, want := ParseKeys(" a, b,,c ,"), []string{"a", "b", "c"}; !slices.Equal(got, want) {
		t.Errorf("ParseKeys: got %q, want %q", got, want)
	}
	path := filepath.Join(t.TempDir(), "keys")
	if err := os.WriteFile(path, []byte("# team keys\nk1\n\n  k2  \n"), 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := ReadKeysFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"k1", "k2"}; !slices.Equal(got, want) {
		t.Errorf("ReadKeysFile: got %q, want %q", got, want)
	}
	if _, err := ReadKeysFile(filepath.Join(t.TempDir(), "missing")); err == nil {
		t.Error("missing file: got nil error")
	}
}
