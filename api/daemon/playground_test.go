package daemon

import (
	"net/http"
	"strings"
	"testing"
)

// TestPlaygroundRoutes: the reference page is served without a key, beside
// the API (which still wants one), with its security headers and the side
// routes' request id; a worker-only node, which serves no API, has no page.
func TestPlaygroundRoutes(t *testing.T) {
	r := startDaemon(t, Config{Keys: []string{"k1"}})
	for _, path := range []string{"/", "/docs", "/docs/", "/docs/app.js"} {
		code, h, body := r.call(http.MethodGet, path, "", "")
		if code != http.StatusOK {
			t.Errorf("GET %s without a key: got %d %.100s, want 200", path, code, body)
		}
		if !strings.Contains(h.Get("Content-Security-Policy"), "script-src 'self'") || h.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("GET %s: CSP %q, nosniff %q: want both", path, h.Get("Content-Security-Policy"), h.Get("X-Content-Type-Options"))
		}
		if h.Get("X-Request-Id") == "" {
			t.Errorf("GET %s: no X-Request-Id: want the side routes' request log", path)
		}
	}
	code, h, _ := r.call(http.MethodGet, "/", "", "")
	if csp := h.Get("Content-Security-Policy"); code == 200 && !strings.Contains(csp, "media-src 'self' "+r.d.publicURL) {
		t.Errorf("CSP %q: want media-src naming the public URL %s", csp, r.d.publicURL)
	}
	// Only the page's own paths left the API's hands.
	for _, tc := range []struct{ method, path string }{
		{http.MethodPost, "/"},
		{http.MethodGet, "/favicon.ico"},
		{http.MethodGet, "/async/speech/create"},
	} {
		if code, _, body := r.call(tc.method, tc.path, "", ""); code != http.StatusUnauthorized {
			t.Errorf("%s %s without a key: got %d %s, want the API's 401", tc.method, tc.path, code, body)
		}
	}

	t.Run("worker role", func(t *testing.T) {
		w := startDaemon(t, Config{Role: RoleWorker})
		if code, _, body := w.call(http.MethodGet, "/", "", ""); code != http.StatusNotFound || !strings.Contains(string(body), "workers only") {
			t.Errorf("role worker GET /: got %d %s, want 404 naming the role", code, body)
		}
	})
}
