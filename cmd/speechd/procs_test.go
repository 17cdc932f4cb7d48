package main

import "testing"

func TestProcs(t *testing.T) {
	tests := []struct {
		name          string
		in            string
		base, workers int
		want          int
		wantErr       bool
	}{
		{"auto on few cores is the floor", "auto", 2, 2, minAutoProcs, false},
		{"auto adds a slot per worker", "auto", 8, 4, 12, false},
		{"auto on an API-only node", "auto", 16, 0, 16, false},
		{"empty is auto", "", 6, 3, 9, false},
		{"a number", "3", 2, 2, 3, false},
		{"zero refused", "0", 2, 2, 0, true},
		{"not a number", "many", 2, 2, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := procs(tt.in, tt.base, tt.workers)
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Errorf("procs(%q, %d, %d): got %d, %v; want %d (error %v)", tt.in, tt.base, tt.workers, got, err, tt.want, tt.wantErr)
			}
		})
	}
}
