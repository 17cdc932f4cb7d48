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

	"github.com/distributeai/asyncspeech/api/server/results"
	"github.com/distributeai/asyncspeech/internal/dirlock"
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
	if err := os.MkdirAll(cfg.Data, 0o700); err != nil {
		return nil, fmt.Errorf("data directory %s: %w", cfg.Data, err)
	}
	return loadOrCreateSecret(cfg.Data, log)
}

// loadOrCreateSecret returns the secret kept in dir/LinkSecretFile,
// generating it first if the file is missing, or holds fewer than
// results.MinSecretLen bytes: a file left empty or cut short by a crash or
// a full disk while it was first written, with which no link can have been
// signed (the server never starts with it). It runs under a lock on dir,
// so two processes starting on one new data directory agree on the first
// secret written; the file is written whole to a temporary file, synced
// and renamed into place (then the directory synced), so no reader ever
// sees a partial secret.
func loadOrCreateSecret(dir string, log *slog.Logger) ([]byte, error) {
	path := filepath.Join(dir, LinkSecretFile)
	unlock, err := dirlock.Lock(dir)
	if err != nil {
		return nil, fmt.Errorf("lock data directory %s for the link secret: %w", dir, err)
	}
	defer unlock()
	b, err := os.ReadFile(path)
	switch {
	case err == nil:
		if s := strings.TrimSpace(string(b)); len(s) >= results.MinSecretLen {
			return []byte(s), nil
		}
		log.Warn("replacing a link secret file too short to have signed any link (left by an interrupted first write)",
			"file", path, "bytes", len(b), "want_at_least", results.MinSecretLen)
	case !errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("read link secret %s: %w", path, err)
	}
	secret := hex.EncodeToString(randomSecret())
	if err := writeFileAtomic(path, []byte(secret+"\n")); err != nil {
		return nil, fmt.Errorf("write link secret %s: %w", path, err)
	}
	log.Info("generated a result-link secret", "file", path)
	return []byte(secret), nil
}

// writeFileAtomic replaces path with data, mode 0600: written to a
// temporary file in the same directory, synced, renamed over path, and the
// directory synced so the rename survives a crash. A crash at any point
// leaves either the old file or the new one, never a part of it (a stray
// temporary file at worst).
func writeFileAtomic(path string, data []byte) (err error) {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			_ = os.Remove(tmp)
		}
	}()
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", tmp, err)
	}
	// CreateTemp makes the file 0600 already; say so for any umask.
	if err := errors.Join(f.Chmod(0o600), f.Sync(), f.Close()); err != nil {
		return fmt.Errorf("sync %s: %w", tmp, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("open %s to sync it: %w", dir, err)
	}
	return errors.Join(d.Sync(), d.Close())
}

func randomSecret() []byte {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	return b
}
