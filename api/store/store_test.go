package store_test

import (
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/distributeai/asyncspeech/api/store"
)

// TestCanTransition checks all 49 ordered pairs of statuses against the
// lifecycle written out independently here.
func TestCanTransition(t *testing.T) {
	type pair struct{ from, to store.Status }
	allowed := map[pair]bool{
		{store.StatusCreated, store.StatusQueued}:       true,
		{store.StatusCreated, store.StatusError}:        true,
		{store.StatusQueued, store.StatusAssigned}:      true,
		{store.StatusQueued, store.StatusError}:         true,
		{store.StatusPostponed, store.StatusQueued}:     true,
		{store.StatusPostponed, store.StatusError}:      true,
		{store.StatusAssigned, store.StatusProcessing}:  true,
		{store.StatusAssigned, store.StatusQueued}:      true, // lease expired before start
		{store.StatusAssigned, store.StatusError}:       true,
		{store.StatusProcessing, store.StatusCompleted}: true,
		{store.StatusProcessing, store.StatusError}:     true,
		{store.StatusProcessing, store.StatusPostponed}: true,
		{store.StatusProcessing, store.StatusQueued}:    true, // lease expired while running
	}
	if len(store.Statuses) != 7 {
		t.Fatalf("got %d statuses, want 7", len(store.Statuses))
	}
	n := 0
	for _, from := range store.Statuses {
		for _, to := range store.Statuses {
			n++
			t.Run(fmt.Sprintf("%s->%s", from, to), func(t *testing.T) {
				want := allowed[pair{from, to}]
				if got := store.CanTransition(from, to); got != want {
					t.Errorf("CanTransition(%s, %s): got %v, want %v", from, to, got, want)
				}
			})
		}
	}
	if n != 49 {
		t.Errorf("checked %d pairs, want 49", n)
	}
	if store.CanTransition("BOGUS", store.StatusQueued) || store.CanTransition(store.StatusCreated, "BOGUS") {
		t.Error("CanTransition accepted an unknown status")
	}
}

func TestStatusPredicates(t *testing.T) {
	for _, s := range store.Statuses {
		t.Run(string(s), func(t *testing.T) {
			if !s.Valid() {
				t.Errorf("%s.Valid(): got false, want true", s)
			}
			wantTerminal := s == store.StatusCompleted || s == store.StatusError
			if got := s.Terminal(); got != wantTerminal {
				t.Errorf("%s.Terminal(): got %v, want %v", s, got, wantTerminal)
			}
			wantLeased := s == store.StatusAssigned || s == store.StatusProcessing
			if got := s.Leased(); got != wantLeased {
				t.Errorf("%s.Leased(): got %v, want %v", s, got, wantLeased)
			}
		})
	}
	if store.Status("queued").Valid() {
		t.Error(`Status("queued").Valid(): got true, want false (statuses are upper case)`)
	}
}

func TestCheckMove(t *testing.T) {
	cases := []struct {
		name       string
		cur        store.Status
		leaseOwner string
		worker     string
		to         store.Status
		want       error
	}{
		{"holder starts", store.StatusAssigned, "w1", "w1", store.StatusProcessing, nil},
		{"other worker", store.StatusAssigned, "w1", "w2", store.StatusProcessing, store.ErrLeaseLost},
		{"requeued task", store.StatusQueued, "", "w1", store.StatusProcessing, store.ErrLeaseLost},
		{"finished task", store.StatusCompleted, "", "w1", store.StatusCompleted, store.ErrLeaseLost},
		{"holder skips start", store.StatusAssigned, "w1", "w1", store.StatusCompleted, store.ErrIllegalTransition},
		{"no worker, legal", store.StatusCreated, "", "", store.StatusError, nil},
		{"no worker, terminal", store.StatusCompleted, "", "", store.StatusError, store.ErrIllegalTransition},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := store.CheckMove("id1", c.cur, c.leaseOwner, c.worker, c.to)
			if c.want == nil && err != nil || c.want != nil && !errors.Is(err, c.want) {
				t.Errorf("CheckMove: got %v, want %v", err, c.want)
			}
		})
	}
}

func TestFairOrder(t *testing.T) {
	t0 := time.UnixMilli(1_000)
	c := func(id, owner string, ms int) store.AdmitCandidate {
		return store.AdmitCandidate{ID: id, Owner: owner, Created: t0.Add(time.Duration(ms) * time.Millisecond)}
	}
	cands := []store.AdmitCandidate{c("a1", "a", 1), c("a2", "a", 2), c("a3", "a", 3), c("b1", "b", 4), c("c1", "c", 5), c("b2", "b", 6)}
	cases := []struct {
		name   string
		active map[string]int
		n      int
		want   []string
	}{
		{"round robin by age", nil, 6, []string{"a1", "b1", "c1", "a2", "b2", "a3"}},
		{"limit", nil, 2, []string{"a1", "b1"}},
		{"busy owner waits", map[string]int{"a": 2}, 4, []string{"b1", "c1", "b2", "a1"}},
		{"zero", nil, 0, nil},
		{"more than candidates", nil, 10, []string{"a1", "b1", "c1", "a2", "b2", "a3"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := store.FairOrder(cands, tc.active, tc.n)
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("FairOrder: got %v, want %v", got, tc.want)
			}
		})
	}
}
