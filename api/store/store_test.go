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
	if len(store.AllStatuses()) != 7 {
		t.Fatalf("got %d statuses, want 7", len(store.AllStatuses()))
	}
	n := 0
	for _, from := range store.AllStatuses() {
		for _, to := range store.AllStatuses() {
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
	for _, s := range store.AllStatuses() {
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

func TestAllStatusesIsACopy(t *testing.T) {
	first := store.AllStatuses()
	first[0] = "CHANGED"
	if got := store.AllStatuses()[0]; got != store.StatusCreated {
		t.Errorf("AllStatuses()[0] after a caller changed its copy: got %s, want %s", got, store.StatusCreated)
	}
}

func TestAdmitBudget(t *testing.T) {
	cases := []struct {
		name        string
		capacity    int
		limit       int
		queued      int
		want        int
		wantBounded bool
	}{
		{"unbounded", 0, 0, 10, 0, false},
		{"negative options are unbounded", -1, -5, 10, 0, false},
		{"limit only", 0, 7, 1000, 7, true},
		{"capacity only", 10, 0, 3, 7, true},
		{"room smaller than limit", 10, 7, 5, 5, true},
		{"limit smaller than room", 10, 3, 5, 3, true},
		{"queue exactly full", 10, 7, 10, 0, true},
		{"queue over a lowered capacity", 10, 0, 25, 0, true},
		{"empty queue", 4, 0, 0, 4, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			o := store.AdmitOptions{Capacity: c.capacity, Limit: c.limit}
			n, bounded := o.Budget(c.queued)
			if n != c.want || bounded != c.wantBounded {
				t.Errorf("AdmitOptions{Capacity: %d, Limit: %d}.Budget(%d): got (%d, %v), want (%d, %v)",
					c.capacity, c.limit, c.queued, n, bounded, c.want, c.wantBounded)
			}
		})
	}
}
