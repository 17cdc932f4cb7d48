package history_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/distributeai/asyncspeech/api/store"
	"github.com/distributeai/asyncspeech/api/store/history"
	"github.com/distributeai/asyncspeech/api/store/memory"
	"github.com/distributeai/asyncspeech/api/store/storetest"
	"github.com/distributeai/asyncspeech/api/task"
)

func TestRecordsAcceptedMovesOnly(t *testing.T) {
	ctx := context.Background()
	t0 := time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
	h := history.New(memory.New())
	tk := storetest.NewTask(storetest.Owner("a"), t0)
	if err := h.Create(ctx, tk); err != nil {
		t.Fatal(err)
	}
	admit := func(now time.Time) {
		t.Helper()
		if _, err := h.Admit(ctx, store.AdmitOptions{Now: now, Limit: 10}); err != nil {
			t.Fatal(err)
		}
	}
	claim := func(now time.Time) {
		t.Helper()
		if _, err := h.Claim(ctx, store.ClaimOptions{Worker: "w", Now: now, LeaseUntil: now.Add(time.Minute)}); err != nil {
			t.Fatal(err)
		}
	}
	admit(t0)
	claim(t0)
	if err := h.Start(ctx, tk.ID, "w", t0.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if err := h.Postpone(ctx, tk.ID, "w", t0.Add(time.Second), "engine busy"); err != nil {
		t.Fatal(err)
	}
	// A refused move is not recorded.
	if err := h.Complete(ctx, tk.ID, "w", t0, nil); err == nil {
		t.Fatal("Complete of a POSTPONED task: got nil error, want a refusal")
	}
	t1 := t0.Add(2 * time.Second)
	admit(t1)
	claim(t1)
	if err := h.Start(ctx, tk.ID, "w", t1.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	audio := []store.Audio{{ContentType: "audio/wav", Data: []byte("RIFF")}}
	if err := h.Complete(ctx, tk.ID, "w", t1, audio); err != nil {
		t.Fatal(err)
	}
	if err := h.Fail(ctx, tk.ID, "", t1, "late"); !errors.Is(err, task.ErrIllegalTransition) {
		t.Fatalf("Fail of a COMPLETED task: got %v, want ErrIllegalTransition", err)
	}

	want := []task.Status{task.StatusAssigned, task.StatusProcessing, task.StatusPostponed,
		task.StatusAssigned, task.StatusProcessing, task.StatusCompleted}
	if got := h.Of(tk.ID); !slices.Equal(got, want) {
		t.Errorf("Of: got %v, want %v", got, want)
	}
	got, err := h.Get(ctx, tk.ID, tk.Owner)
	if err != nil || got.Status != task.StatusCompleted {
		t.Errorf("Get: got %v, %v; want COMPLETED", got.Status, err)
	}
	if got := h.Of("no-such-task"); len(got) != 0 {
		t.Errorf("Of(unknown): got %v, want nothing", got)
	}
}
