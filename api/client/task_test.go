package client_test

import (
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/distributeai/asyncspeech/api/client"
)

func TestTaskJSON(t *testing.T) {
	berlin := time.FixedZone("CET", 3600)
	created := time.Date(2026, 11, 24, 15, 5, 55, 419_600_000, berlin) // 14:05:55.4196 UTC
	tests := []struct {
		name string
		task client.Task
		want string
	}{
		{"completed, local times rounded to ms in UTC",
			client.Task{ID: "a", Status: client.StatusCompleted, Model: "Chatterbox", Created: created, Finished: created.Add(2 * time.Second),
				Results: []client.Result{{URL: "https://x/1.wav?a=1&b=2"}}},
			`{"id":"a","status":"COMPLETED","model":"Chatterbox","created":"2026-11-24T14:05:55.420Z","finished":"2026-11-24T14:05:57.420Z","results":[{"url":"https://x/1.wav?a=1\u0026b=2"}]}`},
		{"queued: no finished, results an empty array",
			client.Task{ID: "b", Status: client.StatusQueued, Model: "Chatterbox", Created: time.Date(2026, 11, 24, 14, 5, 55, 0, time.UTC)},
			`{"id":"b","status":"QUEUED","model":"Chatterbox","created":"2026-11-24T14:05:55.000Z","results":[]}`},
		{"zero task", client.Task{}, `{"id":"","status":"","model":"","results":[]}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for _, v := range []any{tc.task, &tc.task} {
				got, err := json.Marshal(v)
				if err != nil {
					t.Fatal(err)
				}
				if string(got) != tc.want {
					t.Errorf("json.Marshal(%T) = %s, want %s", v, got, tc.want)
				}
			}
			got, _ := json.Marshal(tc.task)
			var back client.Task
			if err := json.Unmarshal(got, &back); err != nil {
				t.Fatalf("read back %s: %v", got, err)
			}
			if back.ID != tc.task.ID || back.Status != tc.task.Status ||
				!back.Created.Equal(tc.task.Created.Round(time.Millisecond)) ||
				!back.Finished.Equal(tc.task.Finished.Round(time.Millisecond)) ||
				!slices.Equal(back.Results, tc.task.Results) {
				t.Errorf("read back %+v, want %+v up to ms rounding", back, tc.task)
			}
		})
	}
}
