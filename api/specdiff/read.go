package specdiff

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
)

// MaxDocumentBytes bounds what Read takes from one source: the vendor's
// document is a few kilobytes, so anything near this is not it.
const MaxDocumentBytes = 16 << 20

// Reader says where Read finds "-" and URLs.
type Reader struct {
	// Stdin is read for the source "-".
	Stdin io.Reader
	// HTTPClient fetches http(s) sources; nil means http.DefaultClient.
	// Bound the time with the context.
	HTTPClient *http.Client
}

// Read returns the bytes of a source: "-" for standard input, an http:// or
// https:// URL (which must answer 200), or a file path.
func (r Reader) Read(ctx context.Context, src string) ([]byte, error) {
	switch {
	case src == "-":
		if r.Stdin == nil {
			return nil, errors.New("read -: no standard input")
		}
		return readAll(src, r.Stdin)
	case strings.HasPrefix(src, "http://") || strings.HasPrefix(src, "https://"):
		return r.fetch(ctx, src)
	case src == "":
		return nil, errors.New("read: empty source (want a file, an http(s) URL or -)")
	}
	f, err := os.Open(src)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", src, err)
	}
	defer f.Close()
	return readAll(src, f)
}

func (r Reader) fetch(ctx context.Context, url string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, fmt.Errorf("fetch %s: %w", url, err)
	}
	req.Header.Set("Accept", "application/json, application/yaml;q=0.9, */*;q=0.5")
	hc := r.HTTPClient
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("fetch %s: %w", url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("fetch %s: HTTP %d, want 200", url, resp.StatusCode)
	}
	return readAll(url, resp.Body)
}

func readAll(src string, r io.Reader) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, MaxDocumentBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", src, err)
	}
	if len(b) > MaxDocumentBytes {
		return nil, fmt.Errorf("read %s: more than %d bytes, not an API document", src, MaxDocumentBytes)
	}
	if len(strings.TrimSpace(string(b))) == 0 {
		return nil, fmt.Errorf("read %s: empty", src)
	}
	return b, nil
}
