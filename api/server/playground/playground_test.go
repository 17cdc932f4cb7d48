package playground_test

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	asyncspeech "github.com/distributeai/asyncspeech"
	"github.com/distributeai/asyncspeech/api/server/playground"
	"github.com/distributeai/asyncspeech/api/validate"
)

// freshSpec is a private copy of the embedded spec that a test may change.
func freshSpec(t *testing.T) *openapi3.T {
	t.Helper()
	doc, err := asyncspeech.ParseSpec(context.Background())
	if err != nil {
		t.Fatalf("ParseSpec: %v", err)
	}
	return doc
}

func newHandler(t *testing.T, doc *openapi3.T, opts playground.Options) *playground.Handler {
	t.Helper()
	h, err := playground.New(doc, opts)
	if err != nil {
		t.Fatalf("playground.New: %v", err)
	}
	return h
}

// get serves one request from h through a ServeMux with playground.Routes,
// as speechd mounts it.
func get(t *testing.T, h http.Handler, method, path string, hdr http.Header) *http.Response {
	t.Helper()
	mux := http.NewServeMux()
	for _, p := range playground.Routes() {
		mux.Handle(p, h)
	}
	req := httptest.NewRequest(method, path, nil)
	for k, v := range hdr {
		req.Header[k] = v
	}
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, req)
	return rec.Result()
}

func body(t *testing.T, resp *http.Response) string {
	t.Helper()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read body: %v", err)
	}
	return string(b)
}

func pageHTML(t *testing.T, h http.Handler) string {
	t.Helper()
	resp := get(t, h, http.MethodGet, "/", nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /: got %d, want 200", resp.StatusCode)
	}
	return body(t, resp)
}

func TestServesThePageAndItsAssets(t *testing.T) {
	h := newHandler(t, freshSpec(t), playground.Options{})
	tests := []struct {
		name, method, path string
		wantStatus         int
		wantType           string
		wantBody           string
	}{
		{"root", "GET", "/", 200, "text/html; charset=utf-8", "<!doctype html>"},
		{"docs", "GET", "/docs", 200, "text/html; charset=utf-8", "<!doctype html>"},
		{"docs slash redirects", "GET", "/docs/", 308, "application/json", `"message"`},
		{"head root", "HEAD", "/", 200, "text/html; charset=utf-8", ""},
		{"script", "GET", "/docs/app.js", 200, "text/javascript; charset=utf-8", "'use strict';"},
		{"style sheet", "GET", "/docs/app.css", 200, "text/css; charset=utf-8", ":root"},
		{"icon", "GET", "/docs/icon.svg", 200, "image/svg+xml", "<svg"},
		{"unknown asset", "GET", "/docs/nope.js", 404, "application/json", `"message"`},
		{"template source is not served", "GET", "/docs/index.html", 404, "application/json", `"message"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp := get(t, h, tc.method, tc.path, nil)
			b := body(t, resp)
			if resp.StatusCode != tc.wantStatus {
				t.Fatalf("%s %s: got status %d, want %d (%s)", tc.method, tc.path, resp.StatusCode, tc.wantStatus, b)
			}
			if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, tc.wantType) {
				t.Errorf("Content-Type: got %q, want %q", ct, tc.wantType)
			}
			if !strings.Contains(b, tc.wantBody) {
				t.Errorf("body: got %.80q…, want it to contain %q", b, tc.wantBody)
			}
			if got := resp.Header.Get("X-Content-Type-Options"); got != "nosniff" {
				t.Errorf("X-Content-Type-Options: got %q, want nosniff", got)
			}
			csp := resp.Header.Get("Content-Security-Policy")
			for _, want := range []string{"default-src 'self'", "script-src 'self'", "style-src 'self'", "connect-src 'self'", "media-src 'self'", "frame-ancestors 'none'", "object-src 'none'"} {
				if !strings.Contains(csp, want) {
					t.Errorf("Content-Security-Policy %q lacks %q", csp, want)
				}
			}
			if strings.Contains(csp, "unsafe-") {
				t.Errorf("Content-Security-Policy %q allows unsafe sources", csp)
			}
		})
	}
}

func TestDocsSlashRedirectsRelatively(t *testing.T) {
	h := newHandler(t, freshSpec(t), playground.Options{})
	resp := get(t, h, http.MethodGet, "/docs/", nil)
	if resp.StatusCode != http.StatusPermanentRedirect || resp.Header.Get("Location") != "../docs" {
		t.Errorf("GET /docs/: got %d Location %q, want 308 ../docs (relative, so a proxy prefix stays)", resp.StatusCode, resp.Header.Get("Location"))
	}
}

func TestRevalidatesByETag(t *testing.T) {
	h := newHandler(t, freshSpec(t), playground.Options{})
	first := get(t, h, http.MethodGet, "/docs/app.js", nil)
	etag := first.Header.Get("ETag")
	if etag == "" || first.Header.Get("Cache-Control") != "no-cache" {
		t.Fatalf("ETag %q, Cache-Control %q: want an ETag and no-cache", etag, first.Header.Get("Cache-Control"))
	}
	again := get(t, h, http.MethodGet, "/docs/app.js", http.Header{"If-None-Match": {etag}})
	if again.StatusCode != http.StatusNotModified {
		t.Errorf("GET with If-None-Match %s: got %d, want 304", etag, again.StatusCode)
	}
}

func TestRefusesOtherMethods(t *testing.T) {
	h := newHandler(t, freshSpec(t), playground.Options{})
	// Called directly: speechd's mux sends only GET and HEAD here, the
	// handler must still not answer a POST with the page.
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/docs", nil))
	if rec.Code != http.StatusMethodNotAllowed || rec.Header().Get("Allow") != "GET, HEAD" {
		t.Errorf("POST /docs: got %d Allow %q, want 405 Allow \"GET, HEAD\"", rec.Code, rec.Header().Get("Allow"))
	}
	var msg struct{ Message string }
	if err := json.Unmarshal(rec.Body.Bytes(), &msg); err != nil || msg.Message == "" {
		t.Errorf("POST /docs body %q: want {\"message\"} (%v)", rec.Body.String(), err)
	}
}

func TestMediaSourceNamesThePublicOrigin(t *testing.T) {
	h := newHandler(t, freshSpec(t), playground.Options{PublicURL: "https://speech.example.com/base/"})
	csp := get(t, h, http.MethodGet, "/", nil).Header.Get("Content-Security-Policy")
	if !strings.Contains(csp, "media-src 'self' https://speech.example.com;") {
		t.Errorf("Content-Security-Policy %q: want media-src 'self' https://speech.example.com", csp)
	}
}

func TestNewRefuses(t *testing.T) {
	noResult := freshSpec(t)
	noResult.Paths.Delete("/async/speech/result")
	tests := []struct {
		name string
		doc  *openapi3.T
		opts playground.Options
		want string
	}{
		{"no document", nil, playground.Options{}, "no openapi document"},
		{"no result operation", noResult, playground.Options{}, `no operation "asyncSpeechResult"`},
		{"relative public URL", freshSpec(t), playground.Options{PublicURL: "/speech"}, "public URL"},
		{"ftp public URL", freshSpec(t), playground.Options{PublicURL: "ftp://example.com"}, "public URL"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := playground.New(tc.doc, tc.opts)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("New: got error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

var (
	scriptTag  = regexp.MustCompile(`(?s)<script\b([^>]*)>(.*?)</script>`)
	eventAttr  = regexp.MustCompile(`(?i)\son[a-z]+\s*=`)
	styleAttr  = regexp.MustCompile(`(?i)\sstyle\s*=`)
	urlAttr    = regexp.MustCompile(`\s(?:src|href|action|poster|data)="([^"]*)"`)
	pathAttr   = regexp.MustCompile(`\sdata-[a-z]+-path="([^"]*)"`)
	cssURL     = regexp.MustCompile(`(?i)url\(|@import`)
	absoluteJS = regexp.MustCompile(`(?i)https?:|wss?:|//[a-z0-9.-]+\.[a-z]{2,}`)
)

// TestNoInlineScriptAndNoOtherHost reads what the browser would run: the
// CSP forbids inline script and other hosts, so the page must need neither.
func TestNoInlineScriptAndNoOtherHost(t *testing.T) {
	h := newHandler(t, freshSpec(t), playground.Options{})
	html := pageHTML(t, h)
	scripts := scriptTag.FindAllStringSubmatch(html, -1)
	if len(scripts) == 0 {
		t.Fatalf("page loads no script")
	}
	for _, s := range scripts {
		if strings.TrimSpace(s[2]) != "" || !strings.Contains(s[1], `src="docs/`) {
			t.Errorf("script tag %q: want an empty tag with a src under docs/", s[0])
		}
	}
	if m := eventAttr.FindString(html); m != "" {
		t.Errorf("page has an inline event handler attribute %q", m)
	}
	if m := styleAttr.FindString(html); m != "" {
		t.Errorf("page has an inline style attribute %q", m)
	}
	// Relative URLs only (no scheme, no host, no leading slash): the page
	// works under a proxy's path prefix, and on no other host.
	relative := regexp.MustCompile(`^(?:#[A-Za-z-]*|[a-z][a-z0-9./-]*)$`)
	for _, m := range append(urlAttr.FindAllStringSubmatch(html, -1), pathAttr.FindAllStringSubmatch(html, -1)...) {
		if !relative.MatchString(m[1]) || strings.Contains(m[1], ":") {
			t.Errorf("page refers to %q: want a URL relative to the page", m[1])
		}
	}
	css := body(t, get(t, h, http.MethodGet, "/docs/app.css", nil))
	if m := cssURL.FindString(css); m != "" {
		t.Errorf("style sheet loads something (%q): want no url() or @import", m)
	}
	js := body(t, get(t, h, http.MethodGet, "/docs/app.js", nil))
	if m := absoluteJS.FindString(js); m != "" {
		t.Errorf("script names an absolute URL (%q): want paths of this server only", m)
	}
}

func TestPageWeight(t *testing.T) {
	h := newHandler(t, freshSpec(t), playground.Options{})
	const limit = 150 << 10
	if n := h.Size(); n >= limit {
		t.Errorf("page weighs %d bytes (HTML, script, style sheet, icon), want < %d", n, limit)
	} else {
		t.Logf("page weight: %d bytes (limit %d)", n, limit)
	}
}

// element returns the attributes of the element with id in html.
func element(t *testing.T, html, id string) map[string]string {
	t.Helper()
	tag := regexp.MustCompile(`<(?:input|select|textarea)\b[^>]*\sid="` + regexp.QuoteMeta(id) + `"[^>]*>`).FindString(html)
	if tag == "" {
		t.Fatalf("page has no control #%s", id)
	}
	attrs := map[string]string{}
	for _, m := range regexp.MustCompile(`\s([a-z-]+)(?:="([^"]*)")?`).FindAllStringSubmatch(tag, -1) {
		attrs[m[1]] = m[2]
	}
	return attrs
}

func labelOf(t *testing.T, html, id string) string {
	t.Helper()
	m := regexp.MustCompile(`<label for="` + regexp.QuoteMeta(id) + `">([^<]*)`).FindStringSubmatch(html)
	if m == nil {
		t.Fatalf("control #%s has no <label for>", id)
	}
	return strings.TrimSpace(m[1])
}

func createBody(doc *openapi3.T) *openapi3.Schema {
	return doc.Paths.Find("/async/speech/create").Post.RequestBody.Value.Content.Get("application/json").Schema.Value
}

func num(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

// TestSlidersFollowTheSpec checks the three sliders against the embedded
// spec, and that a changed spec changes the form: bounds, defaults, enums
// and new properties come from the document, not from the page's code.
func TestSlidersFollowTheSpec(t *testing.T) {
	t.Run("embedded spec", func(t *testing.T) {
		doc := freshSpec(t)
		html := pageHTML(t, newHandler(t, doc, playground.Options{}))
		props := createBody(doc).Properties
		for _, tc := range []struct{ prop, id, label string }{
			{"temperature", "f-temperature", "Temperature"},
			{"exaggeration", "f-exaggeration", "Exaggeration"},
			{"cfg_weight", "f-cfg-weight", "CFG weight"},
		} {
			s := props[tc.prop].Value
			a := element(t, html, tc.id)
			want := map[string]string{"type": "range", "min": num(*s.Min), "max": num(*s.Max), "value": num(s.Default.(float64)), "data-field": tc.prop}
			for k, v := range want {
				if a[k] != v {
					t.Errorf("#%s %s: got %q, want %q (from the spec)", tc.id, k, a[k], v)
				}
			}
			if got := labelOf(t, html, tc.id); got != tc.label {
				t.Errorf("#%s label: got %q, want %q", tc.id, got, tc.label)
			}
		}
		text := element(t, html, "f-input")
		if text["minlength"] != strconv.FormatUint(props["input"].Value.MinLength, 10) || text["maxlength"] != strconv.FormatUint(*props["input"].Value.MaxLength, 10) {
			t.Errorf("Text minlength/maxlength: got %q/%q, want the spec's", text["minlength"], text["maxlength"])
		}
		if got := labelOf(t, html, "f-input"); got != "Text" {
			t.Errorf("text area label: got %q, want Text", got)
		}
		if got := labelOf(t, html, "f-voice"); got != "Voice" {
			t.Errorf("voice label: got %q, want Voice", got)
		}
		if got := labelOf(t, html, "api-key"); got != "API key" {
			t.Errorf("key label: got %q, want API key", got)
		}
		for _, v := range []string{"leo", "nora"} {
			if !strings.Contains(html, `<option value="`+v+`"`) {
				t.Errorf("Voice offers no %q", v)
			}
		}
		if !strings.Contains(html, `<option value="leo" selected>`) {
			t.Errorf("Voice: want the spec's default leo selected")
		}
	})

	t.Run("changed spec", func(t *testing.T) {
		doc := freshSpec(t)
		props := createBody(doc).Properties
		two, half := 2.0, 0.25
		props["temperature"].Value.Max = &two
		props["temperature"].Value.Default = 1.5
		delete(props, "exaggeration")
		props["speed"] = openapi3.NewSchemaRef("", &openapi3.Schema{Type: &openapi3.Types{"number"}, Min: &half, Max: new(4.0), Default: 1.0})
		voice := props["voice"].Value.AnyOf[0].Value
		voice.Enum = append(voice.Enum, "ava")
		html := pageHTML(t, newHandler(t, doc, playground.Options{}))

		if a := element(t, html, "f-temperature"); a["max"] != "2" || a["value"] != "1.5" {
			t.Errorf("temperature max/value: got %q/%q, want 2/1.5", a["max"], a["value"])
		}
		if a := element(t, html, "f-speed"); a["type"] != "range" || a["min"] != "0.25" || a["max"] != "4" || a["value"] != "1" {
			t.Errorf("new property speed: got %v, want a 0.25–4 slider at 1", a)
		}
		if got := labelOf(t, html, "f-speed"); got != "Speed" {
			t.Errorf("speed label: got %q, want Speed", got)
		}
		if strings.Contains(html, `id="f-exaggeration"`) {
			t.Errorf("removed property exaggeration still has a control")
		}
		if !strings.Contains(html, `<option value="ava">`) {
			t.Errorf("added voice ava is not offered")
		}
	})
}

// TestReferenceFromTheSpec checks that the reference names every field,
// rule, default and enum value of both request bodies, every response
// field, and each documented status and extension of both operations.
func TestReferenceFromTheSpec(t *testing.T) {
	doc := freshSpec(t)
	html := pageHTML(t, newHandler(t, doc, playground.Options{}))
	for _, path := range []string{"/async/speech/create", "/async/speech/result"} {
		op := doc.Paths.Find(path).Post
		i := strings.Index(html, `<article id="op-`+op.OperationID+`"`)
		if i < 0 {
			t.Fatalf("no reference article for %s", op.OperationID)
		}
		article := html[i:]
		article = article[:strings.Index(article, "</article>")]
		if !strings.Contains(article, "<code>"+path+"</code>") || !strings.Contains(article, op.Description) {
			t.Errorf("%s: reference lacks its path or description", op.OperationID)
		}
		var schemas []*openapi3.Schema
		schemas = append(schemas, op.RequestBody.Value.Content.Get("application/json").Schema.Value)
		for code, r := range op.Responses.Map() {
			if !strings.Contains(article, "<code>"+code+" "+http.StatusText(atoi(t, code))+"</code>") {
				t.Errorf("%s: documented status %s not listed", op.OperationID, code)
			}
			schemas = append(schemas, r.Value.Content.Get("application/json").Schema.Value)
		}
		for _, s := range schemas {
			for name, p := range s.Properties {
				if !strings.Contains(article, "<code>"+name+"</code>") {
					t.Errorf("%s: field %s not listed", op.OperationID, name)
				}
				ps := p.Value
				var want []string
				if ps.Min != nil && ps.Max != nil {
					want = append(want, num(*ps.Min)+" ≤ value ≤ "+num(*ps.Max))
				}
				if ps.Default != nil {
					want = append(want, "<code>"+jsonText(ps.Default)+"</code>")
				}
				if ps.Pattern != "" {
					want = append(want, "pattern "+ps.Pattern)
				}
				for _, e := range ps.Enum {
					want = append(want, "<code>"+jsonText(e)+"</code>")
				}
				for _, w := range want {
					if !strings.Contains(article, w) {
						t.Errorf("%s: field %s: reference lacks %q", op.OperationID, name, w)
					}
				}
			}
		}
		for _, e := range playground.Extensions() {
			if e.Operation != "" && e.Operation != op.OperationID {
				continue
			}
			row := "<code>" + strconv.Itoa(e.Status) + " " + http.StatusText(e.Status) + "</code></td>\n          <td><span class=\"tag\">extension</span>"
			if !strings.Contains(article, row) {
				t.Errorf("%s: extension %d not listed as one", op.OperationID, e.Status)
			}
		}
	}
	if !strings.Contains(html, `<code>voice</code>`) || !strings.Contains(html, "<code>leo</code>, <code>nora</code>") {
		t.Errorf("voice's anyOf enum not listed")
	}
}

func atoi(t *testing.T, s string) int {
	t.Helper()
	n, err := strconv.Atoi(s)
	if err != nil {
		t.Fatalf("status %q: %v", s, err)
	}
	return n
}

func jsonText(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// TestExtensionsMatchTheREADME keeps the page's list of extensions the
// README's table, row for row.
func TestExtensionsMatchTheREADME(t *testing.T) {
	f, err := os.Open("../../../README.md")
	if err != nil {
		t.Fatalf("open README: %v", err)
	}
	defer f.Close()
	var rows []string
	in := false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "### Documented extensions to the spec"):
			in = true
		case in && strings.HasPrefix(line, "#"):
			in = false
		case in && strings.HasPrefix(line, "| ") && !strings.HasPrefix(line, "| status"):
			rows = append(rows, line)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, e := range playground.Extensions() {
		want = append(want, "| "+e.Label+" | "+e.When+" |")
	}
	if !slices.Equal(rows, want) {
		t.Errorf("README extension rows:\n%s\nplayground.Extensions:\n%s", strings.Join(rows, "\n"), strings.Join(want, "\n"))
	}
}

// TestExtensionsCoverTheValidator: every status the server's validator lets
// through as an extension is on the page.
func TestExtensionsCoverTheValidator(t *testing.T) {
	var listed []int
	for _, e := range playground.Extensions() {
		listed = append(listed, e.Status)
	}
	for _, s := range validate.ExtensionStatuses() {
		if !slices.Contains(listed, s) {
			t.Errorf("validate.ExtensionStatuses has %d, playground.Extensions lacks it", s)
		}
	}
}
