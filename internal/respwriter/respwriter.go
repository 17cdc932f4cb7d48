// Package respwriter wraps an http.ResponseWriter to remember what was sent
// (status and size), for the request log, the metrics and panic recovery.
package respwriter

import (
	"io"
	"net/http"
)

// Recorder passes everything through to the wrapped writer and remembers
// the first status written (0 until something is sent) and the body size.
type Recorder struct {
	http.ResponseWriter
	status int
	bytes  int64
	copy   io.Writer
}

// New wraps w.
func New(w http.ResponseWriter) *Recorder { return &Recorder{ResponseWriter: w} }

// NewCopying wraps w and also writes every body byte sent to copy (a
// capture of the exchange, such as a HAR recording's).
func NewCopying(w http.ResponseWriter, copy io.Writer) *Recorder {
	return &Recorder{ResponseWriter: w, copy: copy}
}

// WriteHeader records the first status and passes it on.
func (w *Recorder) WriteHeader(status int) {
	if w.status == 0 {
		w.status = status
	}
	w.ResponseWriter.WriteHeader(status)
}

// Write records an implicit 200 and the bytes written.
func (w *Recorder) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(p)
	w.bytes += int64(n)
	if w.copy != nil {
		_, _ = w.copy.Write(p[:n])
	}
	return n, err
}

// Flush passes a flush on (streamed answers) when the wrapped writer can.
func (w *Recorder) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap lets http.ResponseController reach the connection.
func (w *Recorder) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// Started reports whether any part of the response was sent.
func (w *Recorder) Started() bool { return w.status != 0 }

// Status is the status sent, 200 when the handler sent nothing (which
// net/http answers as 200).
func (w *Recorder) Status() int {
	if w.status == 0 {
		return http.StatusOK
	}
	return w.status
}

// Bytes is the number of body bytes written.
func (w *Recorder) Bytes() int64 { return w.bytes }
