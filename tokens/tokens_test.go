package tokens

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestStore(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state")
	s := Open(dir)
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	s.now = func() time.Time { return now }
	if n, err := s.Active(); err != nil || n != 0 {
		t.Fatalf("Active() of a new store = %d, %v; want 0", n, err)
	}
	secret, tok, err := s.Add("alice", Write, now.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(secret, "hive_") || len(secret) != secretLen || tok.Instance != "alice" || tok.Scope != Write || tok.ID != tok.Hash[:12] {
		t.Errorf("Add = %q, %+v", secret, tok)
	}
	// Only the hash is stored.
	b, err := os.ReadFile(filepath.Join(dir, FileName))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), secret) || strings.Contains(string(b), secret[len(prefix):]) {
		t.Errorf("the tokens file holds the secret:\n%s", b)
	}
	for p, want := range map[string]os.FileMode{dir: 0o700, filepath.Join(dir, FileName): 0o600} {
		if fi, err := os.Stat(p); err != nil || fi.Mode().Perm() != want {
			t.Errorf("mode of %s = %v, %v; want %04o", p, fi.Mode().Perm(), err, want)
		}
	}
	if got, err := s.Lookup(secret); err != nil || got != tok {
		t.Errorf("Lookup(secret) = %+v, %v; want %+v", got, err, tok)
	}
	for _, bad := range []string{"", "hive_", secret[:len(secret)-1] + "a", strings.ToUpper(secret), "Bearer " + secret, secret + " "} {
		if bad == secret {
			continue
		}
		if _, err := s.Lookup(bad); !errors.Is(err, ErrInvalid) {
			t.Errorf("Lookup(%q) = %v, want ErrInvalid", bad, err)
		}
	}
	// Expiry.
	now = now.Add(time.Hour)
	if _, err := s.Lookup(secret); !errors.Is(err, ErrExpired) {
		t.Errorf("Lookup after expiry = %v, want ErrExpired", err)
	}
	if n, _ := s.Active(); n != 0 {
		t.Errorf("Active() after expiry = %d, want 0", n)
	}
	// Another process's changes count at once: a second Store on the folder
	// adds and revokes.
	other := Open(dir)
	secret2, tok2, err := other.Add("maint", Maintainer, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if got, err := s.Lookup(secret2); err != nil || got != tok2 {
		t.Errorf("Lookup of a token another store added = %+v, %v", got, err)
	}
	list, err := s.List()
	if err != nil || len(list) != 2 || list[0].ID != tok.ID || list[1].ID != tok2.ID {
		t.Errorf("List() = %+v, %v", list, err)
	}
	if _, err := other.Revoke(tok2.ID[:6]); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Lookup(secret2); !errors.Is(err, ErrInvalid) {
		t.Errorf("Lookup of a revoked token = %v, want ErrInvalid", err)
	}
	if _, err := s.Revoke(tok2.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("Revoke of a revoked token = %v, want ErrNotFound", err)
	}
	if _, err := s.Revoke(""); !errors.Is(err, ErrNotFound) {
		t.Errorf("Revoke(\"\") = %v, want ErrNotFound", err)
	}
}

func TestStoreRefuses(t *testing.T) {
	s := Open(filepath.Join(t.TempDir(), "state"))
	for _, tc := range []struct {
		inst  string
		scope Scope
	}{{"Alice", Write}, {"", Write}, {"a/b", Write}, {"alice", "admin"}, {"alice", ""}} {
		if _, _, err := s.Add(tc.inst, tc.scope, time.Time{}); err == nil {
			t.Errorf("Add(%q, %q) = nil error, want one", tc.inst, tc.scope)
		}
	}
	if _, _, err := s.Add("alice", Write, time.Time{}); err != nil {
		t.Fatal(err)
	}
	// A file others may write to could hold their token: refused.
	p := filepath.Join(s.Dir(), FileName)
	os.Chmod(p, 0o666)
	if _, err := s.List(); err == nil || !strings.Contains(err.Error(), "writable by group or others") {
		t.Errorf("List() of a 0666 file = %v, want a refusal", err)
	}
	os.Chmod(p, 0o600)
	os.WriteFile(p, []byte(`{"tokens":[{"id":"x","sha256":"y","instance":"a","scope":"write"}]}`), 0o600)
	if _, err := s.List(); err == nil || !strings.Contains(err.Error(), "malformed") {
		t.Errorf("List() of a malformed record = %v, want an error", err)
	}
	os.WriteFile(p, []byte(`{`), 0o600)
	if _, err := s.Lookup("hive_" + strings.Repeat("a", secretLen-5)); err == nil || errors.Is(err, ErrInvalid) {
		t.Errorf("Lookup with a corrupt file = %v, want the file's error", err)
	}
}

// TestStoreConcurrentAdds: adds from many goroutines (each its own Store,
// as separate processes are) lose none.
func TestStoreConcurrentAdds(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state")
	var wg sync.WaitGroup
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, _, err := Open(dir).Add("alice", Write, time.Time{}); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if list, err := Open(dir).List(); err != nil || len(list) != 16 {
		t.Errorf("after 16 concurrent adds List() = %d tokens, %v", len(list), err)
	}
}

func TestParseExpiry(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for in, want := range map[string]time.Time{
		"never":                time.Time{},
		"90d":                  now.Add(90 * 24 * time.Hour),
		"36h":                  now.Add(36 * time.Hour),
		"2027-01-31":           time.Date(2027, 1, 31, 0, 0, 0, 0, time.UTC),
		"2026-06-01T10:00:00Z": time.Date(2026, 6, 1, 10, 0, 0, 0, time.UTC),
	} {
		if got, err := ParseExpiry(in, now); err != nil || !got.Equal(want) {
			t.Errorf("ParseExpiry(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "0d", "-1d", "d", "-5h", "2025-01-01", "tomorrow", "99999999d"} {
		if _, err := ParseExpiry(bad, now); err == nil {
			t.Errorf("ParseExpiry(%q) = nil error, want one", bad)
		}
	}
}

func TestDefaultDir(t *testing.T) {
	t.Setenv("HIVE_STATE_DIR", "/state")
	a, _ := DefaultDir("/srv/hives/team.git")
	b, _ := DefaultDir("/srv/other/team.git")
	c, _ := DefaultDir("/home/u/myhive/.git")
	if !strings.HasPrefix(a, "/state/serve/team-") || a == b || !strings.HasPrefix(c, "/state/serve/myhive-") {
		t.Errorf("DefaultDir = %s, %s, %s", a, b, c)
	}
	t.Setenv("HIVE_STATE_DIR", "")
	t.Setenv("XDG_STATE_HOME", "/xdg")
	if d, _ := DefaultDir("/srv/h"); !strings.HasPrefix(d, "/xdg/hive/serve/h-") {
		t.Errorf("DefaultDir with XDG_STATE_HOME = %s", d)
	}
}
