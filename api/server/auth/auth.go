// Package auth checks API keys and names the owner of a request.
//
// The vendor's security scheme puts the key in the authorization header, raw
// (their examples) or as "Bearer <key>". A task belongs to the key that
// created it; the key itself is never stored: its owner identity is the
// lowercase hex SHA-256 of the key. With no keys configured the server runs
// in open development mode: any non-empty key is accepted and still owns its
// tasks, so two developers sharing a dev server do not see each other's work.
package auth

import (
	"bufio"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strings"
)

// Errors Authenticate returns.
var (
	// ErrMissingKey: the authorization header is absent or empty.
	ErrMissingKey = errors.New("missing API key in the authorization header")
	// ErrUnknownKey: the key is not one of the configured keys.
	ErrUnknownKey = errors.New("unknown API key")
)

// OwnerOf returns the owner identity of an API key: the lowercase hex
// SHA-256 of the key.
func OwnerOf(key string) string {
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:])
}

// Authenticator accepts requests whose key is one of a fixed set, or any
// non-empty key in open development mode.
type Authenticator struct {
	hashes [][sha256.Size]byte
	// owners[i] is the owner identity of hashes[i], encoded once here
	// rather than on every request.
	owners []string
}

// New returns an Authenticator for keys; empty strings are ignored. No keys
// means open development mode.
func New(keys []string) *Authenticator {
	a := &Authenticator{}
	seen := map[string]bool{}
	for _, k := range keys {
		if k == "" || seen[k] {
			continue
		}
		seen[k] = true
		a.hashes = append(a.hashes, sha256.Sum256([]byte(k)))
		a.owners = append(a.owners, OwnerOf(k))
	}
	return a
}

// Open reports whether no keys are configured (open development mode).
func (a *Authenticator) Open() bool { return len(a.hashes) == 0 }

// Keys returns how many distinct keys are configured.
func (a *Authenticator) Keys() int { return len(a.hashes) }

// KeyFromHeader extracts the key from an authorization header value: the
// raw key, or the token of "Bearer <key>" (scheme case-insensitive).
func KeyFromHeader(h string) string {
	h = strings.TrimSpace(h)
	if strings.EqualFold(h, "Bearer") {
		return "" // a scheme without a token
	}
	if scheme, rest, ok := strings.Cut(h, " "); ok && strings.EqualFold(scheme, "Bearer") {
		return strings.TrimSpace(rest)
	}
	return h
}

// Authenticate checks the authorization header value and returns the
// owner identity of its key. The comparison is constant-time: the key's
// hash is compared with every configured hash, without stopping at a match
// or branching on one, so timing reveals neither how much of a key matched
// nor, beyond the memory load of the one owner string returned (a cache
// effect that can only tell a caller where its own key sits), which key did.
func (a *Authenticator) Authenticate(header string) (string, error) {
	key := KeyFromHeader(header)
	if key == "" {
		return "", ErrMissingKey
	}
	sum := sha256.Sum256([]byte(key))
	if a.Open() {
		return hex.EncodeToString(sum[:]), nil
	}
	match, idx := 0, 0
	for i := range a.hashes {
		eq := subtle.ConstantTimeCompare(sum[:], a.hashes[i][:])
		idx = subtle.ConstantTimeSelect(eq, i, idx)
		match |= eq
	}
	if match != 1 {
		return "", ErrUnknownKey
	}
	return a.owners[idx], nil
}

type ownerKey struct{}

// WithOwner returns a context that carries the owner identity of the request.
func WithOwner(ctx context.Context, owner string) context.Context {
	return context.WithValue(ctx, ownerKey{}, owner)
}

// Owner returns the owner identity stored by WithOwner, if any.
func Owner(ctx context.Context) (string, bool) {
	o, ok := ctx.Value(ownerKey{}).(string)
	return o, ok && o != ""
}

// ParseKeys splits a comma-separated key list, trimming spaces and dropping
// empty entries.
func ParseKeys(list string) []string {
	var keys []string
	for _, k := range strings.Split(list, ",") {
		if k = strings.TrimSpace(k); k != "" {
			keys = append(keys, k)
		}
	}
	return keys
}

// ReadKeysFile reads keys from a file, one a line; blank lines and lines
// starting with # are skipped.
func ReadKeysFile(path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read keys file %s: %w", path, err)
	}
	defer f.Close()
	var keys []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		keys = append(keys, line)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read keys file %s: %w", path, err)
	}
	return keys, nil
}
