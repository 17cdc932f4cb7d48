package daemon

import (
	"net/http"
	"testing"
	"time"

	"github.com/distributeai/asyncspeech/api/store/memory"
	"github.com/distributeai/asyncspeech/api/store/storetest"
)

// TestReadyzFollowsStoreWrites: while the store cannot write, /readyz and
// creates answer 503 with Retry-After; once it mends, /readyz turns ready
// again by itself and creates succeed.
func TestReadyzFollowsStoreWrites(t *testing.T) {
	br := &storetest.Breakable{Store: memory.New()}
	r := startDaemonWith(t, Config{}, nil, WithStore(br))
	const key = "Bearer readyz-test-key"
	if code, _, b := r.call(http.MethodGet, "/readyz", "", ""); code != http.StatusOK {
		t.Fatalf("readyz of a healthy store: got %d %s, want 200", code, b)
	}
	br.Break(true)
	code, h, b := r.call(http.MethodPost, "/async/speech/create", key, `{"model":"Chatterbox","input":"hello"}`)
	if code != http.StatusServiceUnavailable || h.Get("Retry-After") == "" {
		t.Errorf("create on a broken store: got %d (Retry-After %q) %s, want 503 with Retry-After", code, h.Get("Retry-After"), b)
	}
	code, h, b = r.call(http.MethodGet, "/readyz", "", "")
	if code != http.StatusServiceUnavailable || h.Get("Retry-After") == "" {
		t.Errorf("readyz of a broken store: got %d (Retry-After %q) %s, want 503 with Retry-After", code, h.Get("Retry-After"), b)
	}
	br.Break(false)
	deadline := time.Now().Add(15 * time.Second)
	for {
		code, _, b = r.call(http.MethodGet, "/readyz", "", "")
		if code == http.StatusOK {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("readyz after the store mended: still %d %s after 15s, want 200", code, b)
		}
		time.Sleep(100 * time.Millisecond)
	}
	r.create(key, "hello")
}
