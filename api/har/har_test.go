package har

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestMiddlewareRecordsAndRedacts(t *testing.T) {
	rec := NewRecorder("test", "1")
	h := rec.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		switch r.URL.Path {
		case "/audio":
			w.Header().Set("Content-Type", "audio/wav")
			_, _ = w.Write([]byte{'R', 'I', 'F', 'F', 0xff, 0x00, 0xfe})
		default:
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("Set-Cookie", "session=s3cret")
			w.WriteHeader(http.StatusCreated)
			_, _ = w.Write(append([]byte(`{"echo":`), append(body, '}')...))
		}
	}))
	srv := httptest.NewServer(h)
	defer srv.Close()

	req, _ := http.NewRequest("POST", srv.URL+"/async/speech/create?x=1", strings.NewReader(`"é"`))
	req.Header.Set("Authorization", "the-key")
	req.Header.Set("X-Api-Key", "other-key")
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("POST: %v", err)
	}
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(got) != `{"echo":"é"}` {
		t.Fatalf("the handler saw a different body: got %s", got)
	}
	resp, err = http.Get(srv.URL + "/audio")
	if err != nil {
		t.Fatalf("GET: %v", err)
	}
	resp.Body.Close()

	var buf bytes.Buffer
	if _, err := rec.WriteTo(&buf); err != nil {
		t.Fatalf("WriteTo: %v", err)
	}
	for _, secret := range []string{"the-key", "other-key", "s3cret"} {
		if strings.Contains(buf.String(), secret) {
			t.Errorf("recording holds %q:\n%s", secret, buf.String())
		}
	}
	f, err := Read(&buf)
	if err != nil {
		t.Fatalf("Read: %v", err)
	}
	if f.Log.Version != "1.2" || len(f.Log.Entries) != 2 {
		t.Fatalf("got version %q with %d entries, want 1.2 with 2", f.Log.Version, len(f.Log.Entries))
	}
	e := f.Log.Entries[0]
	if e.Request.Method != "POST" || !strings.HasSuffix(e.Request.URL, "/async/speech/create?x=1") || string(e.RequestBody()) != `"é"` {
		t.Errorf("request: got %s %s %q", e.Request.Method, e.Request.URL, e.RequestBody())
	}
	if h := Headers(e.Request.Headers); h.Get("Authorization") != Redacted || h.Get("X-Api-Key") != Redacted {
		t.Errorf("request headers not redacted: %v", h)
	}
	if len(e.Request.QueryString) != 1 || e.Request.QueryString[0] != (Header{"x", "1"}) {
		t.Errorf("queryString: got %v", e.Request.QueryString)
	}
	if b, _ := e.ResponseBody(); e.Response.Status != 201 || string(b) != `{"echo":"é"}` || e.Response.Content.Encoding != "" {
		t.Errorf("response: got %d %q (encoding %q)", e.Response.Status, b, e.Response.Content.Encoding)
	}
	a := f.Log.Entries[1]
	b, err := a.ResponseBody()
	if err != nil || a.Response.Status != 200 || a.Response.Content.Encoding != "base64" || !bytes.Equal(b, []byte{'R', 'I', 'F', 'F', 0xff, 0x00, 0xfe}) {
		t.Errorf("binary response: got %d %q encoding %q err %v", a.Response.Status, b, a.Response.Content.Encoding, err)
	}
	if a.Request.PostData != nil {
		t.Errorf("GET has postData %+v", a.Request.PostData)
	}
}

func TestWriteFileAndRead(t *testing.T) {
	rec := NewRecorder("test", "1")
	path := filepath.Join(t.TempDir(), "x.har")
	if err := rec.WriteFile(path); err != nil {
		t.Fatalf("WriteFile: %v", err)
	}
	f, err := ReadFile(path)
	if err != nil {
		t.Fatalf("ReadFile: %v", err)
	}
	if f.Log.Entries == nil || len(f.Log.Entries) != 0 {
		t.Errorf("empty recording: got entries %v, want []", f.Log.Entries)
	}
	raw, _ := os.ReadFile(path)
	var generic map[string]map[string]any
	if err := json.Unmarshal(raw, &generic); err != nil || generic["log"]["creator"] == nil {
		t.Errorf("file is not a HAR document: %s", raw)
	}
}

func TestReadRefusesNonHAR(t *testing.T) {
	for name, doc := range map[string]string{
		"not JSON":    `nope`,
		"no version":  `{"log":{}}`,
		"version 2.0": `{"log":{"version":"2.0","entries":[]}}`,
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := Read(strings.NewReader(doc)); err == nil {
				t.Errorf("Read(%s): got nil error", doc)
			}
		})
	}
}
