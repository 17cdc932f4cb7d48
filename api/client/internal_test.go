package client

import "testing"

func TestErrorMessage(t *testing.T) {
	tests := []struct{ name, body, want string }{
		{"contract body", `{"message":"task not found"}`, "task not found"},
		{"plain text", "  upstream timeout\n", "upstream timeout"},
		{"empty", "", ""},
		{"binary", "\xff\xfe", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := errorMessage([]byte(tc.body)); got != tc.want {
				t.Errorf("errorMessage(%q) = %q, want %q", tc.body, got, tc.want)
			}
		})
	}
	long := make([]byte, 1000)
	for i := range long {
		long[i] = 'a'
	}
	if got := errorMessage(long); len(got) > 210 {
		t.Errorf("errorMessage of 1000 bytes gave %d bytes, want about 200", len(got))
	}
}
