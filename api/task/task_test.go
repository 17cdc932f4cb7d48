package task_test

import (
	"fmt"
	"slices"
	"testing"

	"github.com/distributeai/asyncspeech/api/task"
	"github.com/distributeai/asyncspeech/generated"
)

// TestStatusesAreTheSpecs: the domain's statuses are exactly the generated
// enum's values, so a status the vendor adds or renames fails here first.
func TestStatusesAreTheSpecs(t *testing.T) {
	var spec []string
	for _, s := range []generated.AsyncSpeechResult200JSONResponseBodyStatus{
		generated.AsyncSpeechResult200JSONResponseBodyStatusCREATED,
		generated.AsyncSpeechResult200JSONResponseBodyStatusQUEUED,
		generated.AsyncSpeechResult200JSONResponseBodyStatusPOSTPONED,
		generated.AsyncSpeechResult200JSONResponseBodyStatusASSIGNEDCONNECTIONS,
		generated.AsyncSpeechResult200JSONResponseBodyStatusPROCESSING,
		generated.AsyncSpeechResult200JSONResponseBodyStatusCOMPLETED,
		generated.AsyncSpeechResult200JSONResponseBodyStatusERROR,
	} {
		if !s.Valid() {
			t.Fatalf("generated status %q: Valid() got false", s)
		}
		spec = append(spec, string(s))
	}
	var ours []string
	for _, s := range task.AllStatuses() {
		ours = append(ours, string(s))
	}
	slices.Sort(spec)
	slices.Sort(ours)
	if !slices.Equal(ours, spec) {
		t.Errorf("task.AllStatuses(): got %v, want the spec's %v", ours, spec)
	}
}

// TestCanTransition checks all 49 ordered pairs of statuses against the
// lifecycle written out independently here.
func TestCanTransition(t *testing.T) {
	type pair struct{ from, to task.Status }
	allowed := map[pair]bool{
		{task.StatusCreated, task.StatusQueued}:       true,
		{task.StatusCreated, task.StatusError}:        true,
		{task.StatusQueued, task.StatusAssigned}:      true,
		{task.StatusQueued, task.StatusError}:         true,
		{task.StatusPostponed, task.StatusQueued}:     true,
		{task.StatusPostponed, task.StatusError}:      true,
		{task.StatusAssigned, task.StatusProcessing}:  true,
		{task.StatusAssigned, task.StatusQueued}:      true, // lease expired before start
		{task.StatusAssigned, task.StatusError}:       true,
		{task.StatusProcessing, task.StatusCompleted}: true,
		{task.StatusProcessing, task.StatusError}:     true,
		{task.StatusProcessing, task.StatusPostponed}: true,
		{task.StatusProcessing, task.StatusQueued}:    true, // lease expired while running
	}
	if len(task.AllStatuses()) != 7 {
		t.Fatalf("got %d statuses, want 7", len(task.AllStatuses()))
	}
	n := 0
	for _, from := range task.AllStatuses() {
		for _, to := range task.AllStatuses() {
			n++
			t.Run(fmt.Sprintf("%s->%s", from, to), func(t *testing.T) {
				want := allowed[pair{from, to}]
				if got := task.CanTransition(from, to); got != want {
					t.Errorf("CanTransition(%s, %s): got %v, want %v", from, to, got, want)
				}
			})
		}
	}
	if n != 49 {
		t.Errorf("checked %d pairs, want 49", n)
	}
	if task.CanTransition("BOGUS", task.StatusQueued) || task.CanTransition(task.StatusCreated, "BOGUS") {
		t.Error("CanTransition accepted an unknown status")
	}
}

func TestStatusPredicates(t *testing.T) {
	for _, s := range task.AllStatuses() {
		t.Run(string(s), func(t *testing.T) {
			if !s.Valid() {
				t.Errorf("%s.Valid(): got false, want true", s)
			}
			wantTerminal := s == task.StatusCompleted || s == task.StatusError
			if got := s.Terminal(); got != wantTerminal {
				t.Errorf("%s.Terminal(): got %v, want %v", s, got, wantTerminal)
			}
			wantLeased := s == task.StatusAssigned || s == task.StatusProcessing
			if got := s.Leased(); got != wantLeased {
				t.Errorf("%s.Leased(): got %v, want %v", s, got, wantLeased)
			}
		})
	}
	if task.Status("queued").Valid() {
		t.Error(`Status("queued").Valid(): got true, want false (statuses are upper case)`)
	}
}

func TestAllStatusesIsACopy(t *testing.T) {
	first := task.AllStatuses()
	first[0] = "CHANGED"
	if got := task.AllStatuses()[0]; got != task.StatusCreated {
		t.Errorf("AllStatuses()[0] after a caller changed its copy: got %s, want %s", got, task.StatusCreated)
	}
}
