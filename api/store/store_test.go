package store_test

import (
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/distributeai/asyncspeech/api/task"

	"github.com/distributeai/asyncspeech/api/store"
)

func TestCheckMove(t *testing.T) {
	cases := []struct {
		name       string
		cur        task.Status
		leaseOwner string
		worker     string
		to         task.Status
		want       error
	}{
		{"holder starts", task.StatusAssigned, "w1", "w1", task.StatusProcessing, nil},
		{"other worker", task.StatusAssigned, "w1", "w2", task.StatusProcessing, store.ErrLeaseLost},
		{"requeued task", task.StatusQueued, "", "w1", task.StatusProcessing, store.ErrLeaseLost},
		{"finished task", task.StatusCompleted, "", "w1", task.StatusCompleted, store.ErrLeaseLost},
		{"holder skips start", task.StatusAssigned, "w1", "w1", task.StatusCompleted, task.ErrIllegalTransition},
		{"no worker, legal", task.StatusCreated, "", "", task.StatusError, nil},
		{"no worker, terminal", task.StatusCompleted, "", "", task.StatusError, task.ErrIllegalTransition},
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
