package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/distributeai/asyncspeech/internal/retry"
)

// maxErrorBody bounds how much of a failed download's body is read for the
// error message.
const maxErrorBody = 4 << 10

// Download streams every result file of a COMPLETED task, in order, to w and
// returns the number of bytes written. A task with several results yields
// the files back to back; use DownloadURL per Result to keep them apart, or
// DownloadFile.
//
// No API key is sent: result URLs are capability links (signed, expiring)
// that carry their own authorisation. They may point at another host (a
// CDN, object storage, another node of the service), and sending the key
// there would hand a long-lived secret to whoever serves the file; some
// pre-signed storage URLs also reject requests that carry an extra
// Authorization header.
func (c *Client) Download(ctx context.Context, task *Task, w io.Writer) (int64, error) {
	if task == nil {
		return 0, errors.New("download: nil task")
	}
	if task.Status != StatusCompleted || len(task.Results) == 0 {
		return 0, fmt.Errorf("download: task %s is %s with %d results, want COMPLETED with results", task.ID, task.Status, len(task.Results))
	}
	var total int64
	for i, r := range task.Results {
		n, err := c.DownloadURL(ctx, r.URL, w)
		total += n
		if err != nil {
			return total, fmt.Errorf("task %s result %d: %w", task.ID, i, err)
		}
	}
	return total, nil
}

// DownloadURL streams one result URL to w and returns the bytes written. A
// relative URL is resolved against the base URL. The request is retried
// under the client's policy (it is a plain GET) as long as nothing has been
// written to w yet; the API key is never sent (see Download).
func (c *Client) DownloadURL(ctx context.Context, rawURL string, w io.Writer) (int64, error) {
	ref, err := url.Parse(rawURL)
	if err != nil {
		return 0, fmt.Errorf("download %q: %w", rawURL, err)
	}
	u := c.baseURL.ResolveReference(ref)
	if u.Scheme != "http" && u.Scheme != "https" {
		return 0, fmt.Errorf("download %q: scheme %q is not http(s)", rawURL, u.Scheme)
	}
	var n int64
	out := c.policy().Do(ctx, func(attempt int) retry.Result {
		var r retry.Result
		n, r = c.downloadOnce(ctx, u.String(), w, attempt)
		// Bytes already in w cannot be taken back: a second GET would
		// write the file's start again after them.
		r.Retry = r.Retry && n == 0
		return r
	}, func(attempt int, wait time.Duration, last retry.Result) {
		c.log.InfoContext(ctx, "retrying download", "url", redact(u), "attempt", attempt, "wait", wait, "err", last.Err)
	})
	if out.Stop == retry.StopInterrupted {
		return 0, fmt.Errorf("download %s: %w (last error: %v)", redact(u), out.WaitErr, out.Last.Err)
	}
	return n, out.Last.Err
}

// downloadOnce makes one GET and says whether its failure is transient. A
// GET is idempotent: it is retried on any network error and on 408, 429
// and 5xx.
func (c *Client) downloadOnce(ctx context.Context, u string, w io.Writer, attempt int) (int64, retry.Result) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return 0, retry.Result{Err: fmt.Errorf("download: %w", err)}
	}
	req.Header.Set("User-Agent", c.userAgent)
	resp, err := c.httpClient.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			ue.URL = redact(req.URL)
		}
		return 0, retry.Result{Err: fmt.Errorf("download: %w", err), Retry: ctx.Err() == nil}
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
		ra, hasRA := retry.ParseRetryAfter(resp.Header.Get("Retry-After"), time.Now())
		return 0, retry.Result{
			Err: &APIError{
				Operation:  "download",
				StatusCode: resp.StatusCode,
				Message:    errorMessage(body),
				RetryAfter: ra,
				Attempts:   attempt,
			},
			Retry:         retry.RetryableStatus(true, resp.StatusCode, hasRA),
			RetryAfter:    ra,
			HasRetryAfter: hasRA,
		}
	}
	n, err := io.Copy(w, resp.Body)
	if err != nil {
		return n, retry.Result{Err: fmt.Errorf("download: after %d bytes: %w", n, err), Retry: ctx.Err() == nil}
	}
	return n, retry.Result{}
}

// DownloadFile writes the results of a COMPLETED task to files and returns
// their paths: the first result goes to path, result i > 0 to path with
// "-i" before the extension (out.wav, out-1.wav, ...). Each file is written
// to a temporary name in the same directory and renamed when complete, so
// an interrupted download never leaves a truncated file under the final
// name; an existing file is replaced. A path that is a directory, or whose directory does not exist,
// fails before any request is sent.
func (c *Client) DownloadFile(ctx context.Context, task *Task, path string) ([]string, error) {
	if task == nil {
		return nil, errors.New("download: nil task")
	}
	if task.Status != StatusCompleted || len(task.Results) == 0 {
		return nil, fmt.Errorf("download: task %s is %s with %d results, want COMPLETED with results", task.ID, task.Status, len(task.Results))
	}
	for i := range task.Results {
		if err := checkTarget(numberedPath(path, i)); err != nil {
			return nil, err
		}
	}
	paths := make([]string, 0, len(task.Results))
	for i, r := range task.Results {
		p := numberedPath(path, i)
		if err := c.downloadToFile(ctx, r.URL, p); err != nil {
			return paths, fmt.Errorf("task %s result %d: %w", task.ID, i, err)
		}
		paths = append(paths, p)
	}
	return paths, nil
}

// checkTarget fails when path cannot become a file: the rename at the end
// of a download would fail only after the whole file was fetched.
func checkTarget(path string) error {
	fi, err := os.Stat(path)
	if err == nil {
		if fi.IsDir() {
			return fmt.Errorf("download to %s: is a directory, want a file name such as %s", path, filepath.Join(path, "speech.wav"))
		}
		return nil // replaced by the rename, as documented
	}
	// Look at the directory first: "no such directory" or "not a
	// directory" says more than the path's own stat error.
	dir := filepath.Dir(path)
	if dfi, derr := os.Stat(dir); errors.Is(derr, fs.ErrNotExist) {
		return fmt.Errorf("download to %s: directory %s does not exist: %w", path, dir, derr)
	} else if derr == nil && !dfi.IsDir() {
		return fmt.Errorf("download to %s: %s is not a directory", path, dir)
	}
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	return fmt.Errorf("download to %s: %w", path, err)
}

func (c *Client) downloadToFile(ctx context.Context, rawURL, path string) (err error) {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.part")
	if err != nil {
		return fmt.Errorf("download to %s: %w", path, err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if _, err = c.DownloadURL(ctx, rawURL, f); err != nil {
		return err
	}
	if err = f.Close(); err != nil {
		return fmt.Errorf("download to %s: %w", path, err)
	}
	if err = os.Chmod(f.Name(), 0o644); err != nil {
		return fmt.Errorf("download to %s: %w", path, err)
	}
	if err = os.Rename(f.Name(), path); err != nil {
		return fmt.Errorf("download to %s: %w", path, err)
	}
	return nil
}

func numberedPath(path string, i int) string {
	if i == 0 {
		return path
	}
	ext := filepath.Ext(path)
	return fmt.Sprintf("%s-%d%s", strings.TrimSuffix(path, ext), i, ext)
}

// redact drops the query of a result URL for logs: its signature is the
// capability itself.
func redact(u *url.URL) string {
	r := *u
	r.RawQuery = ""
	return r.String()
}
