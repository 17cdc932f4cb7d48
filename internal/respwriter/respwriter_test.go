package respwriter

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestRecorder(t *testing.T) {
	tests := []struct {
		name        string
		serve       func(w http.ResponseWriter)
		wantStarted bool
		wantStatus  int
		wantBytes   int64
	}{
		{"nothing sent", func(http.ResponseWriter) {}, false, http.StatusOK, 0},
		{"implicit 200", func(w http.ResponseWriter) { _, _ = w.Write([]byte("hello")) }, true, http.StatusOK, 5},
		{"explicit status", func(w http.ResponseWriter) { w.WriteHeader(http.StatusTeapot); _, _ = w.Write([]byte("ab")) }, true, http.StatusTeapot, 2},
		{"first status wins", func(w http.ResponseWriter) { w.WriteHeader(http.StatusNotFound); w.WriteHeader(http.StatusOK) }, true, http.StatusNotFound, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			under := httptest.NewRecorder()
			var copied bytes.Buffer
			rec := NewCopying(under, &copied)
			tt.serve(rec)
			if copied.String() != under.Body.String() {
				t.Errorf("got a copy of %q, want what was sent, %q", copied.String(), under.Body.String())
			}
			if rec.Started() != tt.wantStarted || rec.Status() != tt.wantStatus || rec.Bytes() != tt.wantBytes {
				t.Errorf("got started=%v status=%d bytes=%d, want %v %d %d", rec.Started(), rec.Status(), rec.Bytes(), tt.wantStarted, tt.wantStatus, tt.wantBytes)
			}
			if int64(under.Body.Len()) != tt.wantBytes {
				t.Errorf("wrapped writer got %d bytes, want %d", under.Body.Len(), tt.wantBytes)
			}
			if rec.Unwrap() != http.ResponseWriter(under) {
				t.Error("Unwrap did not return the wrapped writer")
			}
		})
	}
}

// TestResponseControllerReachesTheConnection checks what Unwrap is for:
// http.ResponseController flushes and sets deadlines through the wrapper.
func TestResponseControllerReachesTheConnection(t *testing.T) {
	under := httptest.NewRecorder()
	rec := New(under)
	_, _ = rec.Write([]byte("part"))
	if err := http.NewResponseController(rec).Flush(); err != nil {
		t.Fatalf("Flush through the Recorder: got %v, want nil", err)
	}
	if !under.Flushed {
		t.Error("got the wrapped writer not flushed, want flushed")
	}
}

// TestFlushPassesOn: a handler that flushes through the plain http.Flusher
// interface reaches the wrapped writer too.
func TestFlushPassesOn(t *testing.T) {
	under := httptest.NewRecorder()
	var w http.ResponseWriter = New(under)
	f, ok := w.(http.Flusher)
	if !ok {
		t.Fatal("got a Recorder that is not an http.Flusher, want one")
	}
	f.Flush()
	if !under.Flushed {
		t.Error("got the wrapped writer not flushed, want flushed")
	}
}
