// Package playground serves speechd's reference and playground page: one
// HTML page, a style sheet, a script and an icon, all embedded in the
// binary, that render both operations of openapi.json (fields, types,
// bounds, defaults, enums, documented statuses and this server's
// extensions) and let a person create a task, watch its statuses and play
// the result. The page requests nothing from any other host, carries no
// inline script, and needs no API key to load; the key a person types is
// kept in sessionStorage and sent only on the API calls.
//
// Everything the page knows about the API comes from the spec given to New:
// the form's controls, their bounds and defaults, and the reference are
// rendered from it once, when the handler is made.
package playground

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/distributeai/asyncspeech/api/apierr"
)

//go:embed assets
var assets embed.FS

// Base is the path the page's assets are served under.
const Base = "/docs/"

// Routes returns the ServeMux patterns the handler answers: the page at "/"
// and "/docs", its assets under "/docs/". Mount each of them on the handler
// from New.
func Routes() []string { return []string{"GET /{$}", "GET /docs", "GET " + Base} }

// Options are what the page needs beyond the spec.
type Options struct {
	// PublicURL is the base of the result links the server hands out
	// (speechd --public-url). When its origin differs from the page's, the
	// Content-Security-Policy must name it so the <audio> element may load
	// from it; empty means result links share the page's origin.
	PublicURL string
}

// Handler serves the page and its assets.
type Handler struct {
	files map[string]file // by URL path
	csp   string
}

type file struct {
	body        []byte
	contentType string
	etag        string
}

// New renders the page from doc and returns its handler. It fails when doc
// lacks either operation or a request body, or when PublicURL is not an
// absolute http(s) URL.
func New(doc *openapi3.T, opts Options) (*Handler, error) {
	if doc == nil {
		return nil, fmt.Errorf("playground: no openapi document")
	}
	csp, err := contentSecurityPolicy(opts.PublicURL)
	if err != nil {
		return nil, err
	}
	v, err := buildView(doc, Extensions())
	if err != nil {
		return nil, fmt.Errorf("playground: %w", err)
	}
	page, err := renderPage(v)
	if err != nil {
		return nil, err
	}
	h := &Handler{files: map[string]file{}, csp: csp}
	h.add("/", "text/html; charset=utf-8", page)
	// Content types stated here, not looked up: the system's MIME table
	// may lack them, and nosniff makes a wrong one fatal.
	for _, a := range []struct{ name, contentType string }{
		{"app.js", "text/javascript; charset=utf-8"},
		{"app.css", "text/css; charset=utf-8"},
		{"icon.svg", "image/svg+xml"},
	} {
		b, err := assets.ReadFile("assets/" + a.name)
		if err != nil {
			return nil, fmt.Errorf("playground: embedded asset %s: %w", a.name, err)
		}
		h.add(Base+a.name, a.contentType, b)
	}
	return h, nil
}

func (h *Handler) add(p, contentType string, body []byte) {
	sum := sha256.Sum256(body)
	h.files[p] = file{body: body, contentType: contentType, etag: `"` + hex.EncodeToString(sum[:12]) + `"`}
}

// Size returns the bytes the page weighs: the HTML and every asset it loads.
func (h *Handler) Size() int {
	n := 0
	for _, f := range h.files {
		n += len(f.body)
	}
	return n
}

// ServeHTTP answers GET and HEAD for the page ("/", "/docs") and its
// assets; "/docs/" redirects to "/docs"; any other path under the handler
// is a 404 {"message"}, any other method a 405.
//
// Every URL the page uses (assets, API calls) is relative to the page at
// "/" or "/docs", so it works unchanged behind a reverse proxy that serves
// speechd under a path prefix.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hd := w.Header()
	hd.Set("Content-Security-Policy", h.csp)
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Referrer-Policy", "no-referrer")
	hd.Set("Cross-Origin-Opener-Policy", "same-origin")
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		hd.Set("Allow", "GET, HEAD")
		apierr.Write(w, apierr.CodeMethodNotAllowed, fmt.Sprintf("method %s not allowed on %s; use GET", r.Method, r.URL.Path))
		return
	}
	p := r.URL.Path
	if p == Base {
		// Relative, so a proxy's path prefix stays; from /docs/ the page's
		// relative URLs would miss by one level.
		hd.Set("Location", "../docs")
		apierr.WriteMessage(w, http.StatusPermanentRedirect, "the page is at ../docs")
		return
	}
	if p == "/docs" {
		p = "/"
	}
	f, ok := h.files[p]
	if !ok {
		apierr.Write(w, apierr.CodeNotFound, fmt.Sprintf("no page or asset at %s; the reference and playground are at / and %s", r.URL.Path, Base))
		return
	}
	hd.Set("Content-Type", f.contentType)
	hd.Set("ETag", f.etag)
	// The files change only with the binary: revalidate (cheap, by ETag)
	// rather than cache, so an upgraded server is seen at once.
	hd.Set("Cache-Control", "no-cache")
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(f.body))
}

// contentSecurityPolicy allows the page's own files and API calls, audio
// from the page's origin and the result links' origin, and nothing else:
// no inline script or style, no other host, no framing, no form posts.
func contentSecurityPolicy(publicURL string) (string, error) {
	media := "'self'"
	if publicURL != "" {
		u, err := url.Parse(publicURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return "", fmt.Errorf("playground: public URL %q: want an absolute http or https URL", publicURL)
		}
		media += " " + u.Scheme + "://" + u.Host
	}
	return strings.Join([]string{
		"default-src 'self'",
		"object-src 'none'",
		"script-src 'self'",
		"style-src 'self'",
		"img-src 'self'",
		"connect-src 'self'",
		"media-src " + media,
		"base-uri 'none'",
		"form-action 'none'",
		"frame-ancestors 'none'",
	}, "; "), nil
}

func renderPage(v view) ([]byte, error) {
	codeSpan := regexp.MustCompile("`([^`]+)`") // a Markdown code span of the README's wording
	funcs := template.FuncMap{
		"statusText": statusText,
		// relative turns a spec path into one relative to the page.
		"relative": func(p string) string { return strings.TrimPrefix(p, "/") },
		// markdown renders only the code spans of the README's table cells;
		// the rest is escaped text.
		"markdown": func(s string) template.HTML {
			esc := template.HTMLEscapeString(s)
			return template.HTML(codeSpan.ReplaceAllString(esc, "<code>$1</code>"))
		},
	}
	t, err := template.New("index.html").Funcs(funcs).ParseFS(assets, "assets/index.html")
	if err != nil {
		return nil, fmt.Errorf("playground: parse page template: %w", err)
	}
	var buf bytes.Buffer
	data := struct {
		view
		Assets     string // the asset path relative to the page
		Extensions []Extension
	}{v, strings.TrimPrefix(Base, "/"), Extensions()}
	if err := t.Execute(&buf, data); err != nil {
		return nil, fmt.Errorf("playground: render page: %w", err)
	}
	return buf.Bytes(), nil
}
