// Package results serves task audio at capability links: URLs that carry an
// expiry and an HMAC-SHA256 signature, so a client can fetch its audio
// without the API key (the vendor's results[].url is a plain link) while
// nobody can guess or alter one. The audio lives in the store, so any node
// with the same secret can serve any link.
package results

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/distributeai/asyncspeech/api/apierr"
	"github.com/distributeai/asyncspeech/api/store"
)

// MinSecretLen is the shortest signing secret NewSigner accepts.
const MinSecretLen = 16

// Errors of Verify.
var (
	// ErrBadSignature: the link was altered or signed with another secret.
	ErrBadSignature = errors.New("result link signature is invalid")
	// ErrExpired: the link was genuine but its expiry has passed.
	ErrExpired = errors.New("result link has expired")
)

// Signer makes and checks result links.
type Signer struct {
	secret []byte
	base   string
	ttl    time.Duration
	now    func() time.Time
	// macs holds keyed HMAC states for reuse: hmac.New costs two SHA-256
	// states and the key schedule, once per signed link otherwise.
	macs sync.Pool

	// links remembers the last link made for each (task, index), with its
	// expiry: while the expiry bucket has not moved on, polling a task
	// returns the very same string without signing again. At most
	// maxLinks entries; when full it is emptied (links are re-signed).
	linksMu  sync.RWMutex
	links    map[linkKey]signedLink
	maxLinks int
}

type linkKey struct {
	id    string
	index int
}

type signedLink struct {
	exp int64
	url string
}

// DefaultMaxLinks is how many signed links a Signer keeps for reuse when
// WithMaxLinks is not given (each about 250 bytes).
const DefaultMaxLinks = 32768

// WithMaxLinks sets how many signed links the Signer keeps for reuse
// (0 or less: none, every link is signed afresh).
func WithMaxLinks(n int) Option {
	return func(s *Signer) { s.maxLinks = n }
}

// Option configures a Signer.
type Option func(*Signer)

// WithNow sets the clock (default time.Now), for tests.
func WithNow(now func() time.Time) Option {
	return func(s *Signer) { s.now = now }
}

// NewSigner returns a Signer whose links start with publicURL (e.g.
// "https://speech.example.com", the server's --public-url) and stay valid for
// at least ttl. Every node serving the same links needs the same secret.
func NewSigner(secret []byte, publicURL string, ttl time.Duration, opts ...Option) (*Signer, error) {
	if len(secret) < MinSecretLen {
		return nil, fmt.Errorf("results: signing secret is %d bytes, want at least %d", len(secret), MinSecretLen)
	}
	u, err := url.Parse(publicURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("results: public URL %q: want an absolute http(s) URL without query (err: %v)", publicURL, err)
	}
	if ttl <= 0 {
		return nil, fmt.Errorf("results: link lifetime %v: want a positive duration", ttl)
	}
	s := &Signer{secret: bytes.Clone(secret), base: strings.TrimSuffix(publicURL, "/"), ttl: ttl, now: time.Now, maxLinks: DefaultMaxLinks}
	s.macs.New = func() any { return hmac.New(sha256.New, s.secret) }
	for _, o := range opts {
		o(s)
	}
	if s.maxLinks > 0 {
		s.links = make(map[linkKey]signedLink)
	}
	return s, nil
}

// URL returns the capability link for result file index of task taskID:
// {publicURL}/results/{taskID}/{index}.wav?exp=<unix seconds>&sig=<hex>.
// The expiry is rounded up to a whole minute (a whole second for lifetimes
// under a minute), the bucket: every link made within one bucket is the
// same string, so a finished task's answer is byte-identical from poll to
// poll (which lets clients, caches and the validator's verdict reuse work)
// and the link is signed once per bucket, not per poll. The expiry stays
// honest: a link lives at least the signer's ttl and at most ttl plus one
// bucket, and Verify refuses it from its expiry on.
func (s *Signer) URL(taskID string, index int) string {
	return s.URLAt(taskID, index, s.Epoch())
}

// Epoch returns the expiry bucket of links made now: URL(taskID, index)
// made now is URLAt(taskID, index, Epoch()), so a link is a pure function
// of the task, the index and the epoch (and the signer's secret and base).
func (s *Signer) Epoch() int64 { return s.expiry(s.now()) }

// URLAt returns the link for result file index of task taskID that expires
// at exp, an epoch Epoch returned.
func (s *Signer) URLAt(taskID string, index int, exp int64) string {
	if s.links == nil {
		return s.makeURL(taskID, index, exp)
	}
	k := linkKey{taskID, index}
	s.linksMu.RLock()
	l, ok := s.links[k]
	s.linksMu.RUnlock()
	if ok && l.exp == exp {
		return l.url
	}
	u := s.makeURL(taskID, index, exp)
	s.linksMu.Lock()
	if len(s.links) >= s.maxLinks {
		clear(s.links)
	}
	s.links[k] = signedLink{exp: exp, url: u}
	s.linksMu.Unlock()
	return u
}

func (s *Signer) makeURL(taskID string, index int, exp int64) string {
	return fmt.Sprintf("%s/results/%s/%d.wav?exp=%d&sig=%s", s.base, url.PathEscape(taskID), index, exp, s.sign(taskID, index, exp))
}

func (s *Signer) expiry(now time.Time) int64 {
	step := int64(60)
	if s.ttl < time.Minute {
		step = 1
	}
	t := now.Add(s.ttl)
	exp := t.Unix()
	if t.After(time.Unix(exp, 0)) {
		exp++ // round up: a link never lives less than ttl
	}
	if r := exp % step; r != 0 {
		exp += step - r
	}
	return exp
}

// sign is the hex HMAC-SHA256 of the link's id, index and expiry, in an
// unambiguous encoding (the id cannot contain the separator).
func (s *Signer) sign(taskID string, index int, exp int64) string {
	m := s.macs.Get().(hash.Hash)
	m.Reset()
	var buf [128]byte
	msg := append(buf[:0], "asyncspeech-result-v1\x00"...)
	msg = append(msg, taskID...)
	msg = append(msg, 0)
	msg = strconv.AppendInt(msg, int64(index), 10)
	msg = append(msg, 0)
	msg = strconv.AppendInt(msg, exp, 10)
	m.Write(msg)
	var sum [sha256.Size]byte
	sig := hex.EncodeToString(m.Sum(sum[:0]))
	s.macs.Put(m)
	return sig
}

// Verify checks a link's signature (in constant time) and then its expiry.
func (s *Signer) Verify(taskID string, index int, exp int64, sig string) error {
	got, err := hex.DecodeString(sig)
	if err != nil || len(got) != sha256.Size || strings.ContainsRune(taskID, 0) {
		return ErrBadSignature
	}
	want, _ := hex.DecodeString(s.sign(taskID, index, exp))
	if !hmac.Equal(got, want) {
		return ErrBadSignature
	}
	if now := s.now().Unix(); now >= exp {
		return fmt.Errorf("%w at %s", ErrExpired, time.Unix(exp, 0).UTC().Format(time.RFC3339))
	}
	return nil
}

// maxIDLen bounds the task id read from a path; real ids are 36-character UUIDs.
const maxIDLen = 128

// Handler serves GET and HEAD {prefix}/results/{id}/{index}.wav from st,
// checking the link with s. Errors are JSON {"message"}: 403 for a tampered
// or expired link, 404 for a link to audio that does not exist (never
// stored, or deleted by retention), 405 for other methods, 503 when the store
// fails. Audio is served with its stored Content-Type, Content-Length, a
// strong ETag, range support and Cache-Control private until the link expires.
func Handler(st store.Store, s *Signer, logger *slog.Logger) http.Handler {
	if logger == nil {
		logger = slog.Default()
	}
	return &handler{st: st, s: s, log: logger}
}

type handler struct {
	st  store.Store
	s   *Signer
	log *slog.Logger
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		writeError(w, apierr.CodeMethodNotAllowed, "Result files are read with GET or HEAD.")
		return
	}
	id, index, ok := parsePath(r.URL.Path)
	if !ok {
		writeError(w, apierr.CodeNotFound, "No such result file.")
		return
	}
	q := r.URL.Query()
	exp, err := strconv.ParseInt(q.Get("exp"), 10, 64)
	if err != nil {
		writeError(w, apierr.CodeForbidden, "This result link is invalid: it has no valid expiry. Fetch the task's result again for a fresh link.")
		return
	}
	if err := h.s.Verify(id, index, exp, q.Get("sig")); err != nil {
		if errors.Is(err, ErrExpired) {
			writeError(w, apierr.CodeForbidden, "This result link has expired. Fetch the task's result again for a fresh link.")
			return
		}
		writeError(w, apierr.CodeForbidden, "This result link is invalid: its signature does not match.")
		return
	}
	info, err := h.st.AudioInfo(r.Context(), id, index)
	switch {
	case errors.Is(err, store.ErrNotFound):
		writeError(w, apierr.CodeNotFound, "This result file does not exist or has expired.")
		return
	case errors.Is(err, context.Canceled) && r.Context().Err() != nil:
		return // the client went away
	case err != nil:
		h.log.ErrorContext(r.Context(), "reading result audio", "task", id, "index", index, "err", err)
		writeError(w, apierr.CodeUnavailable, "Result storage is unavailable; retry shortly.")
		return
	}
	ct := info.ContentType
	if ct == "" {
		ct = "application/octet-stream"
	}
	hd := w.Header()
	hd.Set("Content-Type", ct)
	hd.Set("X-Content-Type-Options", "nosniff")
	// Audio is immutable once a task completes and ids are never reused, so
	// id, index and size identify the bytes without hashing them.
	hd.Set("ETag", fmt.Sprintf(`"%s-%d-%d"`, id, index, info.Size))
	maxAge := max(exp-h.s.now().Unix(), 0)
	hd.Set("Cache-Control", fmt.Sprintf("private, max-age=%d, immutable", maxAge))
	hd.Set("Content-Disposition", fmt.Sprintf(`inline; filename="%s-%d.wav"`, id, index))
	// The body streams from the store in chunks of at most
	// store.MaxAudioRead bytes, read only as ServeContent sends them: a
	// Range request reads its range, a full download one chunk at a time.
	// A store error after the headers went out ends the response short,
	// which the client sees as a truncated body (Content-Length says so).
	body := io.NewSectionReader(store.AudioReader(r.Context(), h.st, id, index, info), 0, info.Size)
	if rg := r.Header.Get("Range"); strings.Count(rg, ",") >= maxRanges {
		// Thousands of ranges in one header cost a read and a part each;
		// HTTP lets a server ignore Range, so such a request gets the file.
		r.Header.Del("Range")
	}
	http.ServeContent(&jsonErrors{ResponseWriter: w, size: info.Size}, r, "", time.Time{}, body)
}

// maxRanges is the most byte ranges one request is served as a multipart
// answer; with more, Range is ignored.
const maxRanges = 16

// jsonErrors turns the errors http.ServeContent writes itself (416 for a
// Range past the end, 412 for a failed If-Match) from text/plain into the
// {"message"} every other error of this handler has; the headers
// ServeContent set for them, Content-Range above all, stay.
type jsonErrors struct {
	http.ResponseWriter
	size     int64
	replaced bool
}

func (j *jsonErrors) WriteHeader(status int) {
	if status < 400 || j.replaced {
		j.ResponseWriter.WriteHeader(status)
		return
	}
	j.replaced = true
	msg := http.StatusText(status)
	switch status {
	case http.StatusRequestedRangeNotSatisfiable:
		msg = fmt.Sprintf("The requested range is not satisfiable: the file has %d bytes.", j.size)
	case http.StatusPreconditionFailed:
		msg = "The result file does not match the request's precondition (If-Match or If-Unmodified-Since)."
	}
	// Drop what ServeContent set for the audio: the error is not audio, and
	// it must not be cached as the file.
	h := j.Header()
	h.Del("ETag")
	h.Del("Content-Disposition")
	h.Set("Cache-Control", "no-store")
	apierr.WriteMessage(j.ResponseWriter, status, msg)
}

// Write drops ServeContent's own text once the error was replaced.
func (j *jsonErrors) Write(p []byte) (int, error) {
	if j.replaced {
		return len(p), nil
	}
	return j.ResponseWriter.Write(p)
}

// parsePath reads .../results/{id}/{index}.wav, accepting any prefix so the
// handler works behind a proxy that keeps a path prefix of the public URL.
func parsePath(p string) (id string, index int, ok bool) {
	parts := strings.Split(p, "/")
	if len(parts) < 3 || parts[len(parts)-3] != "results" {
		return "", 0, false
	}
	id, file := parts[len(parts)-2], parts[len(parts)-1]
	num, found := strings.CutSuffix(file, ".wav")
	if !found || id == "" || len(id) > maxIDLen {
		return "", 0, false
	}
	index, err := strconv.Atoi(num)
	// Only the canonical spelling: "01" or "+1" would name the same file twice.
	if err != nil || index < 0 || strconv.Itoa(index) != num {
		return "", 0, false
	}
	return id, index, true
}

// writeError answers code with {"message"}; the error must not be cached,
// unlike the audio a fresh link would fetch.
func writeError(w http.ResponseWriter, code apierr.Code, msg string) {
	w.Header().Set("Cache-Control", "no-store")
	apierr.Write(w, code, msg)
}
