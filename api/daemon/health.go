package daemon

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"time"

	"github.com/distributeai/asyncspeech/api/apierr"
)

// healthz answers while the process serves HTTP at all (liveness).
func (d *Daemon) healthz(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// readyz answers 200 when the store takes writes and answers reads
// (readiness), naming the store, the engine and the role; 503 {"message"}
// with Retry-After otherwise. Writes are judged by health.Store: the last
// write of the server or the workers, or a probe write when none succeeded
// lately, so readiness returns by itself once the store mends.
func (d *Daemon) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if err := d.health.Writable(ctx); err != nil {
		d.log.LogAttrs(r.Context(), slog.LevelWarn, "readyz: store cannot write", slog.Any("error", err))
		apierr.Write(w, apierr.CodeUnavailable, "store cannot write")
		return
	}
	if _, err := d.st.Counts(ctx); err != nil {
		d.log.LogAttrs(r.Context(), slog.LevelWarn, "readyz: store unreachable", slog.Any("error", err))
		apierr.Write(w, apierr.CodeUnavailable, "store unreachable")
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{
		"status": "ready",
		"store":  d.storeKind,
		"engine": d.EngineName(),
		"role":   d.cfg.Role,
	})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		apierr.Write(w, apierr.CodeInternal, "internal error")
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}
