package daemon

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/distributeai/asyncspeech/api/results"
)

// LinkSecretFile holds the generated link secret under the data directory.
const LinkSecretFile = "link-secret"

// linkSecret returns the key that signs result links: the configured one,
// or one generated once and kept under the data directory (so links survive
// a restart), or for the memory store (nothing survives anyway) a random one (likewise for a store passed in with WithStore).
func linkSecret(cfg Config, storeKind string, log *slog.Logger) ([]byte, error) {
	if cfg.LinkSecret != "" {
		if len(cfg.LinkSecret) < results.MinSecretLen {
			return nil, fmt.Errorf("link secret is %d bytes, want at least %d", len(cfg.LinkSecret), results.MinSecretLen)
		}
		return []byte(cfg.LinkSecret), nil
	}
	if storeKind == "memory" || storeKind == "injected" {
		return randomSecret(), nil
	}
	if storeKind == "postgres" {
		log.Warn("no link secret configured (SPEECHD_LINK_SECRET): this node keeps its own under --data, so result links it hands out download only from nodes that share it; give every node the same secret")
	}
	path := filepath.Join(cfg.Data, LinkSecretFile)
	if err := os.MkdirAll(cfg.Data, 0o700); err != nil {
		return nil, fmt.Errorf("data directory %s: %w", cfg.Data, err)
	}
	secret := hex.EncodeToString(randomSecret())
	// O_EXCL: two processes starting on one data directory agree on the
	// first secret written.
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	switch {
	case err == nil:
		_, werr := f.WriteString(secret + "\n")
		cerr := f.Close()
		if werr != nil || cerr != nil {
			return nil, fmt.Errorf("write link secret %s: %w", path, errors.Join(werr, cerr))
		}
		log.Info("generated a result-link secret", "file", path)
		return []byte(secret), nil
	case errors.Is(err, fs.ErrExist):
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("read link secret %s: %w", path, err)
		}
		s := strings.TrimSpace(string(b))
		if len(s) < results.MinSecretLen {
			return nil, fmt.Errorf("link secret %s is %d bytes, want at least %d (delete it to generate a new one)", path, len(s), results.MinSecretLen)
		}
		return []byte(s), nil
	default:
		return nil, fmt.Errorf("create link secret %s: %w", path, err)
	}
}

func randomSecret() []byte {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	return b
}
