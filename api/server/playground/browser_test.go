package playground_test

// These tests drive Debian's chromium, headless, against a real speechd
// (api/daemon on the memory store) and skip, saying so, without it.
// Nothing in them depends on timing beyond generous deadlines: they wait
// for what the page shows, never for a fixed time.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	asyncspeech "github.com/distributeai/asyncspeech"
	"github.com/distributeai/asyncspeech/api/daemon"
	"github.com/distributeai/asyncspeech/api/engine/tone"
)

// Generous deadlines: the machine is shared, and chromium starts slowly
// under load and -race.
const (
	browserBudget = 4 * time.Minute  // the whole browser session of one test
	waitBudget    = 90 * time.Second // one wait for something on the page
)

// logBuffer collects a daemon's log and shows it only when a test fails.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// startSpeechd runs a daemon on 127.0.0.1:0 with the memory store until the
// test ends.
func startSpeechd(t *testing.T, cfg daemon.Config, opts ...daemon.Option) *daemon.Daemon {
	t.Helper()
	if cfg.Addr == "" {
		cfg.Addr = "127.0.0.1:0"
	}
	cfg.Store = "memory"
	cfg.Engine = "tone"
	cfg.Data = t.TempDir()
	cfg.StrictResponses = true
	logs := &logBuffer{}
	d, err := daemon.New(context.Background(), cfg, slog.New(slog.NewTextHandler(logs, nil)), opts...)
	if err != nil {
		t.Fatalf("daemon.New: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("daemon Run: %v", err)
			}
		case <-time.After(time.Minute):
			t.Errorf("daemon Run did not return within a minute of cancel")
		}
		if t.Failed() {
			t.Logf("speechd log:\n%s", logs.String())
		}
	})
	return d
}

// browser is one headless chromium tab with the page's console and
// Content-Security-Policy violations recorded.
type browser struct {
	t   *testing.T
	ctx context.Context

	mu      sync.Mutex
	console []chromedp.ConsoleMessage
}

// newBrowser starts chromium with a fresh profile, or skips the test when
// chromium is not installed.
func newBrowser(t *testing.T) *browser {
	t.Helper()
	path, err := exec.LookPath("chromium")
	if err != nil {
		t.Skip("chromium not installed (apt-get install chromium): skipping the browser test")
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 1000),
	)
	budget, cancelBudget := context.WithTimeout(context.Background(), browserBudget)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(budget, opts...)
	ctx, cancelTab := chromedp.NewContext(allocCtx)
	// Cleanups run last-registered first: the tab, then the browser (which
	// waits for chromium to exit), before t.TempDir removes the profile.
	t.Cleanup(cancelBudget)
	t.Cleanup(cancelAlloc)
	t.Cleanup(cancelTab)
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start chromium %s: %v", path, err)
	}
	b := &browser{t: t, ctx: ctx}

	// Record the page's console (exceptions included) for the whole test.
	consoleCtx, stopConsole := context.WithCancel(ctx)
	messages := chromedp.Console(consoleCtx)
	var wg sync.WaitGroup
	wg.Go(func() {
		for m, err := range messages {
			if err != nil {
				return
			}
			b.mu.Lock()
			b.console = append(b.console, m)
			b.mu.Unlock()
		}
	})
	t.Cleanup(func() { stopConsole(); wg.Wait() })

	// Count CSP violations in every document the tab loads. The script is
	// the test's instrument, run by the browser before the page's own; the
	// page itself has no inline script.
	_, err = chromedp.Call(ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{
		Source: `window.__cspViolations = [];
document.addEventListener('securitypolicyviolation', function (e) {
  window.__cspViolations.push(e.violatedDirective + ' blocked ' + e.blockedURI);
});`,
	})
	if err != nil {
		t.Fatalf("add CSP instrument: %v", err)
	}
	return b
}

// do runs actions, failing the test on error.
func (b *browser) do(what string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, waitBudget)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		b.t.Fatalf("%s: %v", what, err)
	}
}

// eval evaluates a JavaScript expression (awaiting a promise) into T.
func eval[T any](b *browser, expr string) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, waitBudget)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		b.t.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}

// waitFor polls expr (from Go, so no eval runs under the page's CSP) until
// it is true, failing the test after waitBudget with what the page shows.
func (b *browser) waitFor(what, expr string) {
	b.t.Helper()
	deadline := time.Now().Add(waitBudget)
	for {
		ctx, cancel := context.WithTimeout(b.ctx, waitBudget)
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool]("Boolean("+expr+")"))
		cancel()
		if err != nil {
			b.t.Fatalf("waiting for %s: %v", what, err)
		}
		if ok {
			return
		}
		if time.Now().After(deadline) {
			b.t.Fatalf("waited %v for %s; the status region shows %q", waitBudget, what, b.statusText())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (b *browser) statusText() string {
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.getElementById('status-log').innerText`))
	if err != nil {
		return "(unreadable: " + err.Error() + ")"
	}
	return s
}

// recordRequests records the URL of every request the tab sends from now
// until the returned func is called; it returns them.
func (b *browser) recordRequests() func() []string {
	ctx, stop := context.WithCancel(b.ctx)
	requests := chromedp.Events(ctx, network.RequestWillBeSent)
	var (
		urls []string
		wg   sync.WaitGroup
	)
	wg.Go(func() {
		for ev, err := range requests {
			if err != nil {
				return
			}
			urls = append(urls, ev.Request.URL)
		}
	})
	return func() []string {
		stop()
		wg.Wait()
		return urls
	}
}

// checkClean fails the test for any CSP violation or uncaught exception the
// page had.
func (b *browser) checkClean() {
	b.t.Helper()
	if v := eval[[]string](b, `window.__cspViolations || []`); len(v) > 0 {
		b.t.Errorf("Content-Security-Policy violations: %q", v)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, m := range b.console {
		if m.IsException() {
			b.t.Errorf("uncaught exception in the page: %s (%s:%d)", m.Text, m.URL, m.Line+1)
		}
	}
}

// open loads the page and waits for its script to have rendered the curl
// examples (the script's last step at start).
func (b *browser) open(base string) {
	b.t.Helper()
	b.do("open the page", chromedp.Navigate(base+"/"), chromedp.WaitVisible(chromedp.ID("speak")))
	b.waitFor("the page script to run", `document.getElementById('curl-asyncSpeechCreate').textContent.startsWith('curl ')`)
}

// typeInto replaces a text field's content as a person would: focus,
// select all, type.
func (b *browser) typeInto(id, text string) {
	b.t.Helper()
	b.do("type into #"+id,
		chromedp.Focus(chromedp.ID(id)),
		chromedp.Evaluate[chromedp.Void](`document.getElementById(`+strconv.Quote(id)+`).select()`),
		chromedp.SendKeys(chromedp.ID(id), kb.Delete+text),
	)
}

// entry is one line of the page's live status region.
type entry struct {
	Kind   string `json:"kind"`
	Status string `json:"status"`
	Time   string `json:"time"`
	Text   string `json:"text"`
}

func (b *browser) entries() []entry {
	b.t.Helper()
	return eval[[]entry](b, `Array.from(document.querySelectorAll('#statuses li')).map(li => ({
  kind: li.className, status: li.dataset.status || '',
  time: li.querySelector('time') ? li.querySelector('time').textContent : '', text: li.innerText }))`)
}

func (b *browser) lastStatusIs(status string) string {
	return `(() => { const s = document.querySelectorAll('[role=status] li[data-status]');
  return s.length > 0 && s[s.length - 1].dataset.status === ` + strconv.Quote(status) + `; })()`
}

// screenshot saves the page as PNG outside the repository and logs where.
func (b *browser) screenshot(name string) {
	b.t.Helper()
	dir := os.Getenv("SPEECH_SCREENSHOT_DIR")
	if dir == "" {
		dir = os.TempDir()
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		b.t.Fatalf("screenshot directory: %v", err)
	}
	ctx, cancel := context.WithTimeout(b.ctx, waitBudget)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Fatalf("screenshot: %v", err)
	}
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, png, 0o644); err != nil {
		b.t.Fatalf("save screenshot: %v", err)
	}
	b.t.Logf("screenshot of the page: %s", p)
}

var clockTime = regexp.MustCompile(`^\d\d:\d\d:\d\d\.\d{3}$`)

// TestPlaygroundSpeaksAndPlays fills the form on a real speechd, presses
// Speak and follows the task to COMPLETED and playable audio. The daemon's
// workers are held until the page has shown the task waiting as CREATED,
// so the page is seen to show more than one status without depending on
// how fast the engine is.
func TestPlaygroundSpeaksAndPlays(t *testing.T) {
	b := newBrowser(t)
	release := make(chan struct{})
	d := startSpeechd(t, daemon.Config{Workers: 1}, daemon.WithWorkersHeld(release))
	b.open(d.URL())

	doc, err := asyncspeech.Spec()
	if err != nil {
		t.Fatal(err)
	}
	props := doc.Paths.Find("/async/speech/create").Post.RequestBody.Value.Content.Get("application/json").Schema.Value.Properties
	temp := props["temperature"].Value

	// Every control has a label (or, for the button, its text).
	if unlabelled := eval[[]string](b, `Array.from(document.querySelectorAll('input, select, textarea, button'))
  .filter(e => !(e.labels && e.labels.length && e.labels[0].textContent.trim()) && !e.getAttribute('aria-label') && !(e.tagName === 'BUTTON' && e.textContent.trim()))
  .map(e => e.outerHTML)`); len(unlabelled) > 0 {
		t.Errorf("controls without a label: %q", unlabelled)
	}

	// The slider comes from the spec; the keyboard moves it.
	slider := eval[map[string]string](b, `(() => { const e = document.getElementById('f-temperature');
  return {min: e.min, max: e.max, step: e.step, value: e.value, label: document.querySelector('label[for=f-temperature]').textContent}; })()`)
	if slider["min"] != fmt.Sprint(*temp.Min) || slider["max"] != fmt.Sprint(*temp.Max) || slider["value"] != fmt.Sprint(temp.Default) {
		t.Fatalf("Temperature slider min/max/value = %s/%s/%s, want the spec's %v/%v/%v", slider["min"], slider["max"], slider["value"], *temp.Min, *temp.Max, temp.Default)
	}
	step, err := strconv.ParseFloat(slider["step"], 64)
	if err != nil {
		t.Fatalf("Temperature slider step %q: %v", slider["step"], err)
	}

	const key = "playground-test-key"
	const text = "Hello from a headless browser."
	b.typeInto("api-key", key)
	b.typeInto("f-input", text)
	b.do("choose a voice", chromedp.SetValue(chromedp.ID("f-voice"), "nora"))
	for range 5 {
		b.do("press ArrowRight on Temperature", chromedp.SendKeys(chromedp.ID("f-temperature"), kb.ArrowRight))
	}
	wantTemp := temp.Default.(float64) + 5*step
	tempValue := eval[string](b, `document.getElementById('f-temperature').value`)
	gotTemp, err := strconv.ParseFloat(tempValue, 64)
	if err != nil || math.Abs(gotTemp-wantTemp) > 1e-9 {
		t.Fatalf("Temperature after 5 × ArrowRight = %v (%v), want %v", gotTemp, err, wantTemp)
	}

	// The curl example follows the form (the select's change included).
	b.do("notify the voice change", chromedp.Evaluate[chromedp.Void](`document.getElementById('f-voice').dispatchEvent(new Event('change', {bubbles: true}))`))
	curl := eval[string](b, `document.getElementById('curl-asyncSpeechCreate').textContent`)
	for _, want := range []string{d.URL() + "/async/speech/create", `"voice":"nora"`, `"temperature":` + tempValue, `"input":"` + text + `"`, "$DISTRIBUTE_API_KEY"} {
		if !strings.Contains(curl, want) {
			t.Errorf("create curl example %q lacks %q", curl, want)
		}
	}
	if strings.Contains(curl, key) {
		t.Errorf("create curl example shows the API key: %q", curl)
	}

	b.do("press Speak", chromedp.Click(chromedp.ID("speak")))
	b.waitFor("the task shown as CREATED", b.lastStatusIs("CREATED"))

	// The result curl example names the task, and both examples work.
	resultCurl := eval[string](b, `document.getElementById('curl-asyncSpeechResult').textContent`)
	id := eval[string](b, `(() => { const m = document.getElementById('curl-asyncSpeechResult').textContent.match(/"id":"([^"]+)"/); return m ? m[1] : ''; })()`)
	if id == "" || id == "TASK_ID" {
		t.Fatalf("result curl example names no task: %q", resultCurl)
	}
	runCurl(t, curl, key, `"id":`)
	runCurl(t, resultCurl, key, `"status":"CREATED"`)

	close(release)

	b.waitFor("the task shown as COMPLETED", b.lastStatusIs("COMPLETED"))
	b.waitFor("the audio player", `!document.getElementById('result').hidden`)

	var statuses []string
	for _, e := range b.entries() {
		if e.Kind != "status" {
			continue
		}
		statuses = append(statuses, e.Status)
		if !clockTime.MatchString(e.Time) {
			t.Errorf("status %s shown with time %q, want HH:MM:SS.mmm", e.Status, e.Time)
		}
	}
	if len(statuses) < 2 || statuses[0] != "CREATED" || statuses[len(statuses)-1] != "COMPLETED" {
		t.Errorf("statuses shown %v, want at least two, from CREATED to COMPLETED", statuses)
	}

	// The <audio> source decodes to audio as long as the tone engine makes
	// for the text, and the element itself loads it (under the page's CSP).
	got := eval[map[string]any](b, `(async () => {
  const a = document.getElementById('audio');
  const link = document.getElementById('download');
  const r = await fetch(a.src);
  const decoded = await new OfflineAudioContext(1, 1, 16000).decodeAudioData(await r.arrayBuffer());
  if (a.error) throw new Error('audio element: ' + (a.error.message || 'code ' + a.error.code));
  if (!(a.duration > 0)) {
    await new Promise((resolve, reject) => {
      a.addEventListener('loadedmetadata', resolve, {once: true});
      a.addEventListener('error', () => reject(new Error('audio element: ' + (a.error && a.error.message))), {once: true});
      if (a.readyState >= 1) resolve();
    });
  }
  return {src: a.src, status: r.status, type: r.headers.get('content-type'), decoded: decoded.duration,
    element: a.duration, href: link.href, download: link.download};
})()`)
	want := tone.New(tone.Options{}).Duration(text).Seconds()
	if dec, _ := got["decoded"].(float64); dec <= 0 || math.Abs(dec-want) > 0.01 {
		t.Errorf("decoded audio lasts %v s, want %v s (the tone engine's length for the text)", got["decoded"], want)
	}
	if el, _ := got["element"].(float64); el <= 0 || math.Abs(el-want) > 0.05 {
		t.Errorf("<audio> element duration %v s, want %v s", got["element"], want)
	}
	if got["status"] != float64(200) || got["type"] != "audio/wav" {
		t.Errorf("audio source answered %v %v, want 200 audio/wav", got["status"], got["type"])
	}
	if src, _ := got["src"].(string); !strings.HasPrefix(src, d.URL()+"/results/"+id+"/") || got["href"] != src || got["download"] != id+".wav" {
		t.Errorf("audio src %v, download link %v (download=%v), want a result link of task %s in both", got["src"], got["href"], got["download"], id)
	}

	// The key is in sessionStorage, and nowhere in the page or its URL.
	where := eval[map[string]any](b, `({stored: sessionStorage.getItem('asyncspeech.playground.apiKey'),
  inURL: location.href.includes(`+strconv.Quote(key)+`), inHTML: document.documentElement.outerHTML.includes(`+strconv.Quote(key)+`)})`)
	if where["stored"] != key || where["inURL"] != false || where["inHTML"] != false {
		t.Errorf("API key: sessionStorage %v, in URL %v, in HTML %v; want it stored and in neither", where["stored"], where["inURL"], where["inHTML"])
	}

	b.screenshot("speech-playground-completed.png")
	b.checkClean()

	// A reload finds the key again (same tab, same session).
	b.open(d.URL())
	if got := eval[string](b, `document.getElementById('api-key').value`); got != key {
		t.Errorf("API key field after a reload: got %q, want the key kept in sessionStorage", got)
	}
}

// runCurl runs a curl example from the page with bash, the key in
// $DISTRIBUTE_API_KEY as the example expects, and checks its output.
func runCurl(t *testing.T, example, key, want string) {
	t.Helper()
	if _, err := exec.LookPath("curl"); err != nil {
		t.Logf("curl not installed: not running the page's curl example")
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), waitBudget)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", "-c", example)
	cmd.Env = append(os.Environ(), "DISTRIBUTE_API_KEY="+key)
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), want) {
		t.Errorf("curl example\n%s\nprinted %q (%v), want it to contain %q", example, out, err, want)
	}
}

// apiError sends a create with key straight to the API and returns the
// status and the {"message"} of its error answer.
func apiError(t *testing.T, base, key, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, base+"/async/speech/create", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct{ Message string }
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || out.Message == "" {
		t.Fatalf("create with key %q: %d, body without a message (%v)", key, resp.StatusCode, err)
	}
	return resp.StatusCode, out.Message
}

// TestPlaygroundShowsTheAPIMessageForAWrongKey runs speechd with keys: a
// wrong key shows the 401 and the API's message as it came, a text the
// spec refuses shows the 400 and its message, and the right key with a good
// text completes a task.
func TestPlaygroundShowsTheAPIMessageForAWrongKey(t *testing.T) {
	b := newBrowser(t)
	d := startSpeechd(t, daemon.Config{Keys: []string{"right-key"}, Workers: 1})

	// What the API itself answers a wrong key.
	code, wrongKeyMsg := apiError(t, d.URL(), "wrong-key", `{"model":"Chatterbox","input":"hello"}`)
	if code != http.StatusUnauthorized {
		t.Fatalf("wrong key: API answered %d %q, want 401", code, wrongKeyMsg)
	}

	b.open(d.URL())
	b.typeInto("api-key", "wrong-key")
	b.do("press Speak", chromedp.Click(chromedp.ID("speak")))
	b.waitFor("an error shown", `document.querySelector('#statuses li.error')`)
	errText := eval[string](b, `document.querySelector('#statuses li.error').innerText`)
	if !strings.Contains(errText, "401 Unauthorized") || !strings.Contains(errText, wrongKeyMsg) {
		t.Errorf("page shows %q, want 401 Unauthorized and the API's message %q", errText, wrongKeyMsg)
	}
	if s := eval[int](b, `document.querySelectorAll('#statuses li[data-status]').length`); s != 0 {
		t.Errorf("page shows %d statuses after a refused create, want none", s)
	}
	if !eval[bool](b, `document.getElementById('result').hidden`) {
		t.Errorf("audio player shown after a refused create")
	}

	// With the right key, a text the spec refuses shows the validator's 400.
	b.typeInto("api-key", "right-key")
	b.typeInto("f-input", "x")
	b.do("press Speak", chromedp.Click(chromedp.ID("speak")))
	b.waitFor("an error shown", `document.querySelector('#statuses li.error')`)
	code, msg := apiError(t, d.URL(), "right-key", `{"model":"Chatterbox","input":"x"}`)
	errText = eval[string](b, `document.querySelector('#statuses li.error').innerText`)
	if code != http.StatusBadRequest || !strings.Contains(errText, "400 Bad Request") || !strings.Contains(errText, msg) {
		t.Errorf("page shows %q; the API answers %d %q: want 400 Bad Request and the message", errText, code, msg)
	}

	b.typeInto("f-input", "Now with a text the spec takes.")
	b.do("press Speak", chromedp.Click(chromedp.ID("speak")))
	b.waitFor("the task shown as COMPLETED", b.lastStatusIs("COMPLETED"))
	if n := eval[int](b, `document.querySelectorAll('#statuses li.error').length`); n != 0 {
		t.Errorf("a new Speak kept %d old error lines, want the region cleared", n)
	}
	b.checkClean()
}

// TestPlaygroundRequestsOnlyItsOwnOrigin records every request the tab
// makes while the page loads and a task runs to completion: all go to the
// server's own origin.
func TestPlaygroundRequestsOnlyItsOwnOrigin(t *testing.T) {
	b := newBrowser(t)
	d := startSpeechd(t, daemon.Config{Workers: 1})

	stopRec := b.recordRequests()

	b.open(d.URL())
	b.do("wait for the page to settle", chromedp.WaitReady(chromedp.CSS("body")))
	b.typeInto("api-key", "any-key")
	// By keyboard this time: focus the button, press Enter.
	b.do("press Enter on Speak", chromedp.Focus(chromedp.ID("speak")), chromedp.SendKeys(chromedp.ID("speak"), kb.Enter))
	b.waitFor("the task shown as COMPLETED", b.lastStatusIs("COMPLETED"))
	b.waitFor("the audio metadata", `document.getElementById('audio').readyState >= 1`)
	urls := stopRec()

	origin, err := url.Parse(d.URL())
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, u := range urls {
		p, err := url.Parse(u)
		if err == nil && p.Scheme == "data" {
			// Chromium's own media controls draw their icons from data:
			// URLs: no host is asked.
			continue
		}
		if err != nil || p.Scheme != origin.Scheme || p.Host != origin.Host {
			t.Errorf("request to %s leaves the server's origin %s", u, d.URL())
		}
		if err == nil {
			seen[p.Path] = true
		}
	}
	// The recording saw the page and its calls at all.
	for _, p := range []string{"/", "/docs/app.js", "/docs/app.css", "/async/speech/create", "/async/speech/result"} {
		if !seen[p] {
			t.Errorf("no request to %s recorded (recorded: %q)", p, urls)
		}
	}
	b.checkClean()
}

// TestPlaygroundBehindAPrefixProxy serves speechd under /speech/ through a
// reverse proxy that strips the prefix, with --public-url naming it: the
// page, its calls and the audio all go through the proxy's prefix.
func TestPlaygroundBehindAPrefixProxy(t *testing.T) {
	b := newBrowser(t)
	var upstream atomic.Pointer[url.URL]
	mux := http.NewServeMux()
	mux.Handle("/speech/", http.StripPrefix("/speech", &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) { r.SetURL(upstream.Load()) },
	}))
	proxy := httptest.NewServer(mux)
	t.Cleanup(proxy.Close)
	d := startSpeechd(t, daemon.Config{Workers: 1, PublicURL: proxy.URL + "/speech"})
	u, err := url.Parse(d.URL())
	if err != nil {
		t.Fatal(err)
	}
	upstream.Store(u)

	stopRec := b.recordRequests()

	base := proxy.URL + "/speech"
	b.open(base)
	curl := eval[string](b, `document.getElementById('curl-asyncSpeechCreate').textContent`)
	if !strings.Contains(curl, base+"/async/speech/create") {
		t.Errorf("create curl example %q: want the proxied URL %s/async/speech/create", curl, base)
	}
	b.typeInto("api-key", "proxied-key")
	b.do("press Speak", chromedp.Click(chromedp.ID("speak")))
	b.waitFor("the task shown as COMPLETED", b.lastStatusIs("COMPLETED"))
	dur := eval[float64](b, `(async () => {
  const r = await fetch(document.getElementById('audio').src);
  return (await new OfflineAudioContext(1, 1, 16000).decodeAudioData(await r.arrayBuffer())).duration;
})()`)
	if dur <= 0 {
		t.Errorf("audio through the proxy decodes to %v s, want > 0", dur)
	}
	urls := stopRec()
	for _, u := range urls {
		if !strings.HasPrefix(u, base+"/") && !strings.HasPrefix(u, "data:") {
			t.Errorf("request to %s: want everything under %s/", u, base)
		}
	}
	b.checkClean()
}

// TestPlaygroundShowsATaskThatEndsInERROR: a task over the server's audio
// cap ends in ERROR; the page says so, shows the result call's answer as it
// came (the spec gives an ERROR task no message) and offers no audio.
func TestPlaygroundShowsATaskThatEndsInERROR(t *testing.T) {
	b := newBrowser(t)
	d := startSpeechd(t, daemon.Config{Workers: 1, MaxAudio: time.Second, MaxAttempts: 1})
	text := strings.Repeat("A text far too long for a one-second cap. ", 3)
	if tone.New(tone.Options{}).Duration(text) <= time.Second {
		t.Fatalf("test text makes %v of tone audio, want more than the 1s cap", tone.New(tone.Options{}).Duration(text))
	}
	b.open(d.URL())
	b.typeInto("api-key", "any-key")
	b.typeInto("f-input", text)
	b.do("press Speak", chromedp.Click(chromedp.ID("speak")))
	b.waitFor("the task shown as ERROR", b.lastStatusIs("ERROR"))
	b.waitFor("an error line", `document.querySelector('#statuses li.error')`)
	got := eval[map[string]any](b, `({response: document.getElementById('last-response').textContent,
  open: document.getElementById('last-response-box').open, audioHidden: document.getElementById('result').hidden})`)
	resp, _ := got["response"].(string)
	if !strings.Contains(resp, "HTTP 200") || !strings.Contains(resp, `"status":"ERROR"`) || got["open"] != true {
		t.Errorf("last response %q (open %v): want the result call's 200 answer with status ERROR, shown", resp, got["open"])
	}
	if got["audioHidden"] != true {
		t.Errorf("audio player shown for a task in ERROR")
	}
	b.checkClean()
}
