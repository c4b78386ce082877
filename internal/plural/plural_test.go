package plural

import "testing"

func TestN(t *testing.T) {
	tests := []struct {
		n    int
		noun string
		want string
	}{
		{0, "trace", "0 traces"},
		{1, "trace", "1 trace"},
		{2, "trace", "2 traces"},
		{1, "commit", "1 commit"},
		{3, "commit", "3 commits"},
		{1, "success", "1 success"},
		{2, "success", "2 successes"},
		{0, "failure", "0 failures"},
		{1, "violation", "1 violation"},
		{5, "violation", "5 violations"},
		{1, "key", "1 key"},
		{2, "key", "2 keys"},
		{2, "entry", "2 entries"},
		{2, "box", "2 boxes"},
		{2, "match", "2 matches"},
		{1, "upheld dispute", "1 upheld dispute"},
		{2, "upheld dispute", "2 upheld disputes"},
		{2, "new trace", "2 new traces"},
		{-1, "trace", "-1 trace"},
		{2, "", "2 "},
	}
	for _, tt := range tests {
		if got := N(tt.n, tt.noun); got != tt.want {
			t.Errorf("N(%d, %q) = %q, want %q", tt.n, tt.noun, got, tt.want)
		}
	}
}
