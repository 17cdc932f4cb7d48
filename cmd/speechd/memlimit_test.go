package main

import "testing"

func TestMemoryLimit(t *testing.T) {
	tests := []struct {
		in      string
		workers int
		want    int64
		wantErr bool
	}{
		{"auto", 2, 256 << 20, false},
		{"auto", 8, 8 * 96 << 20, false},
		{"off", 2, 0, false},
		{"512MiB", 2, 512 << 20, false},
		{"1.5GiB", 2, 3 << 29, false},
		{"300MB", 2, 300e6, false},
		{"1048576", 2, 1 << 20, false},
		{"lots", 2, 0, true},
		{"-1MiB", 2, 0, true},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, err := memoryLimit(tc.in, tc.workers)
			if (err != nil) != tc.wantErr || got != tc.want {
				t.Errorf("memoryLimit(%q, %d): got %d, %v; want %d (error %v)", tc.in, tc.workers, got, err, tc.want, tc.wantErr)
			}
		})
	}
}
