package main

import (
	"path/filepath"
	"testing"
)

// TestDefaultHive: the hive `hive serve` (and `make run`) keeps when given
// none follows $HIVE_HOME, then the XDG base directory rule.
func TestDefaultHive(t *testing.T) {
	tests := []struct {
		name, hiveHome, xdg, want string
	}{
		{"HIVE_HOME wins", "/srv/hive", "/data", "/srv/hive"},
		{"XDG_DATA_HOME", "", "/data", "/data/hive/default"},
		{"relative XDG_DATA_HOME is ignored", "", "rel", "/home/u/.local/share/hive/default"},
		{"neither", "", "", "/home/u/.local/share/hive/default"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("HOME", "/home/u")
			t.Setenv("HIVE_HOME", tt.hiveHome)
			t.Setenv("XDG_DATA_HOME", tt.xdg)
			got, err := defaultHive()
			if err != nil {
				t.Fatal(err)
			}
			if got != filepath.FromSlash(tt.want) {
				t.Errorf("defaultHive() = %s, want %s", got, tt.want)
			}
		})
	}
}
