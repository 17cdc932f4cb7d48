package daemon

import (
	"bufio"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestOperationsFirstRoutesAsTheMux: sending operation paths straight to
// the API handler picks, for every request, the handler (and redirect) the
// ServeMux would have picked, odd paths included.
func TestOperationsFirstRoutesAsTheMux(t *testing.T) {
	named := func(name string, code int) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("X-Handler", name)
			w.WriteHeader(code)
		})
	}
	api := named("api", 299)
	mux := http.NewServeMux()
	mux.Handle("/results/", named("files", 298))
	mux.Handle("GET /healthz", named("healthz", 297))
	mux.Handle("/", api)
	mux.Handle("GET /{$}", named("page", 296))
	mux.Handle("GET /docs", named("page", 296))
	first := operationsFirst(api, mux)
	tests := []struct {
		name, request string
	}{
		{"result call", "POST /async/speech/result"},
		{"create", "POST /async/speech/create"},
		{"HEAD on an operation", "HEAD /async/speech/result"},
		{"OPTIONS on an operation", "OPTIONS /async/speech/result"},
		{"GET on an operation", "GET /async/speech/create"},
		{"doubled slash", "POST //async/speech/result"},
		{"trailing slash", "POST /async/speech/result/"},
		{"dot segment", "POST /async/speech/./result"},
		{"escaped letter", "POST /async/speech/resul%74"},
		{"escaped slash", "POST /async%2Fspeech/result"},
		{"absolute form", "POST http://other.example/async/speech/result"},
		{"query", "POST /async/speech/result?x=1"},
		{"result file", "GET /results/x/0.wav"},
		{"health", "GET /healthz"},
		{"page", "GET /"},
	}
	serve := func(t *testing.T, h http.Handler, raw string) (int, string, string) {
		t.Helper()
		req, err := http.ReadRequest(bufio.NewReader(strings.NewReader(raw + " HTTP/1.1\r\nHost: h\r\n\r\n")))
		if err != nil {
			t.Fatalf("read request %q: %v", raw, err)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec.Code, rec.Header().Get("X-Handler"), rec.Header().Get("Location")
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			gc, gh, gl := serve(t, first, tt.request)
			wc, wh, wl := serve(t, mux, tt.request)
			if gc != wc || gh != wh || gl != wl {
				t.Errorf("got %d %q %q, want %d %q %q (the mux's)", gc, gh, gl, wc, wh, wl)
			}
		})
	}
}
