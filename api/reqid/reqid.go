// Package reqid gives a request its id: the client's X-Request-Id when it is
// safe to reuse, else a random one, carried in the request's context so
// every log line about the request can name it. The API server and the
// validating proxy both use it.
package reqid

import (
	"context"
	"crypto/rand"
	"encoding/hex"
)

// Header is the request and response header that carries the id.
const Header = "X-Request-Id"

type key struct{}

// With returns ctx carrying id.
func With(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, key{}, id)
}

// From returns the id ctx carries ("" if none).
func From(ctx context.Context) string {
	id, _ := ctx.Value(key{}).(string)
	return id
}

// Valid reports whether a client-sent id may be reused: short and printable
// ASCII, so it cannot forge log lines.
func Valid(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for i := 0; i < len(id); i++ {
		if id[i] < 0x21 || id[i] > 0x7e {
			return false
		}
	}
	return true
}

// New returns a fresh random id: 16 hex digits.
func New() string {
	var b [8]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	var h [16]byte
	hex.Encode(h[:], b[:])
	return string(h[:])
}

// Choose returns sent when Valid, else a New id.
func Choose(sent string) string {
	if Valid(sent) {
		return sent
	}
	return New()
}
