package signing

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
)

func TestKeyStore(t *testing.T) {
	s := KeyStore{Dir: filepath.Join(t.TempDir(), "keys")}
	if names, err := s.List(); err != nil || len(names) != 0 {
		t.Fatalf("List() of a missing directory = %v, %v, want none", names, err)
	}
	ed := mustGenerate(t, Ed25519)
	ec := mustGenerate(t, ECDSAP256)
	if err := s.Create("zed", ed); err != nil {
		t.Fatalf("Create(zed) = %v", err)
	}
	if err := s.Create("alpha-1", ec); err != nil {
		t.Fatalf("Create(alpha-1) = %v", err)
	}
	if err := s.Create("zed", ec); !errors.Is(err, ErrExists) {
		t.Errorf("Create(zed) again = %v, want %v", err, ErrExists)
	}

	if runtime.GOOS != "windows" {
		for path, want := range map[string]os.FileMode{
			s.Dir:                               0o700,
			filepath.Join(s.Dir, "zed.key"):     0o600,
			filepath.Join(s.Dir, "zed.pub"):     0o644,
			filepath.Join(s.Dir, "alpha-1.key"): 0o600,
		} {
			fi, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			if got := fi.Mode().Perm(); got != want {
				t.Errorf("mode of %s = %04o, want %04o", path, got, want)
			}
		}
	}

	names, err := s.List()
	if err != nil || !slices.Equal(names, []string{"alpha-1", "zed"}) {
		t.Errorf("List() = %v, %v, want [alpha-1 zed]", names, err)
	}
	for name, want := range map[string]*PrivateKey{"zed": ed, "alpha-1": ec} {
		k, err := s.Load(name)
		if err != nil {
			t.Fatalf("Load(%s) = %v", name, err)
		}
		if !k.Public().Equal(want.Public()) {
			t.Errorf("Load(%s) = key %s, want %s", name, k.Public().Fingerprint(), want.Public().Fingerprint())
		}
		pub, err := s.PublicPEM(name)
		if err != nil || string(pub) != string(want.Public().MarshalPEM()) {
			t.Errorf("PublicPEM(%s) = %q, %v, want %q", name, pub, err, want.Public().MarshalPEM())
		}
	}
	// A missing .pub is derived from the .key.
	if err := os.Remove(filepath.Join(s.Dir, "zed.pub")); err != nil {
		t.Fatal(err)
	}
	if pub, err := s.PublicPEM("zed"); err != nil || string(pub) != string(ed.Public().MarshalPEM()) {
		t.Errorf("PublicPEM(zed) without .pub = %q, %v, want %q", pub, err, ed.Public().MarshalPEM())
	}

	if _, err := s.Load("nobody"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Load(nobody) = %v, want %v", err, ErrNotFound)
	}
	if _, err := s.PublicPEM("nobody"); !errors.Is(err, ErrNotFound) {
		t.Errorf("PublicPEM(nobody) = %v, want %v", err, ErrNotFound)
	}

	if runtime.GOOS != "windows" {
		path := filepath.Join(s.Dir, "zed.key")
		if err := os.Chmod(path, 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := s.Load("zed")
		if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "chmod 600") {
			t.Errorf("Load(zed) of a 0644 key = %v, want an error naming %s and chmod 600", err, path)
		}
	}
	// No temporary files are left behind.
	entries, _ := os.ReadDir(s.Dir)
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".tmp") {
			t.Errorf("temporary file %s left in %s", e.Name(), s.Dir)
		}
	}
}

func TestKeyStoreInstanceNames(t *testing.T) {
	s := KeyStore{Dir: t.TempDir()}
	k := mustEd25519(t, 5)
	for _, name := range []string{"../x", "A", "", "-a", "_a", "a/b", "a.b", "a b", strings.Repeat("a", 64), "a\x00"} {
		t.Run(name, func(t *testing.T) {
			if err := s.Create(name, k); err == nil {
				t.Errorf("Create(%q) = nil, want an error", name)
			}
			if _, err := s.Load(name); err == nil || errors.Is(err, ErrNotFound) {
				t.Errorf("Load(%q) = %v, want an invalid name error", name, err)
			}
			if _, err := s.PublicPEM(name); err == nil || errors.Is(err, ErrNotFound) {
				t.Errorf("PublicPEM(%q) = %v, want an invalid name error", name, err)
			}
		})
	}
	for _, name := range []string{"a", "0", "a_b-c", strings.Repeat("a", 63)} {
		if err := s.Create(name, k); err != nil {
			t.Errorf("Create(%q) = %v, want nil", name, err)
		}
	}
}

func TestDefaultKeyStore(t *testing.T) {
	t.Setenv("HIVE_KEY_DIR", "/some/dir")
	s, err := DefaultKeyStore()
	if err != nil || s.Dir != "/some/dir" {
		t.Errorf("DefaultKeyStore() with HIVE_KEY_DIR = %v, %v, want /some/dir", s.Dir, err)
	}
	t.Setenv("HIVE_KEY_DIR", "")
	s, err = DefaultKeyStore()
	if err == nil && !strings.HasSuffix(s.Dir, filepath.Join("hive", "keys")) {
		t.Errorf("DefaultKeyStore() = %v, want a dir ending in hive/keys", s.Dir)
	}
}
