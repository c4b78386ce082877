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

// TestKeyStoreChecksItself: the key store refuses what ssh refuses of
// ~/.ssh (folders and keys open to others, symlinks) and a .pub that is
// not its key's public half, so that nobody else can have their key
// registered or used in an instance's name.
func TestKeyStoreChecksItself(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("permissions and symlinks are checked on Unix")
	}
	other := mustGenerate(t, Ed25519)
	tests := []struct {
		name  string
		spoil func(t *testing.T, s KeyStore) // after Create("victim", ...)
		want  string                         // in the error of PublicPEM and, unless pubOnly, of Load
		pub   bool                           // only PublicPEM refuses
	}{
		{"swapped .pub", func(t *testing.T, s KeyStore) {
			os.WriteFile(s.pubPath("victim"), other.Public().MarshalPEM(), 0o644)
		}, "is not the public half of", true},
		{"folder open to others", func(t *testing.T, s KeyStore) { os.Chmod(s.Dir, 0o777) }, "chmod 700", false},
		{"folder writable by group", func(t *testing.T, s KeyStore) { os.Chmod(s.Dir, 0o770) }, "chmod 700", false},
		{"key readable by group", func(t *testing.T, s KeyStore) { os.Chmod(s.keyPath("victim"), 0o640) }, "chmod 600", false},
		{".pub writable by others", func(t *testing.T, s KeyStore) { os.Chmod(s.pubPath("victim"), 0o666) }, "chmod 644", true},
		{"key is a symlink", func(t *testing.T, s KeyStore) {
			elsewhere := filepath.Join(t.TempDir(), "k")
			os.Rename(s.keyPath("victim"), elsewhere)
			os.Symlink(elsewhere, s.keyPath("victim"))
		}, "symlink", false},
		{".pub is a symlink", func(t *testing.T, s KeyStore) {
			elsewhere := filepath.Join(t.TempDir(), "p")
			os.WriteFile(elsewhere, other.Public().MarshalPEM(), 0o644)
			os.Remove(s.pubPath("victim"))
			os.Symlink(elsewhere, s.pubPath("victim"))
		}, "symlink", true},
		{"folder is a symlink", func(t *testing.T, s KeyStore) {
			real := filepath.Join(t.TempDir(), "real")
			os.Rename(s.Dir, real)
			os.Symlink(real, s.Dir)
		}, "symlink", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := KeyStore{Dir: filepath.Join(t.TempDir(), "keys")}
			k := mustGenerate(t, Ed25519)
			if err := s.Create("victim", k); err != nil {
				t.Fatal(err)
			}
			tt.spoil(t, s)
			if pub, err := s.PublicPEM("victim"); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("PublicPEM = %.30q, %v; want an error saying %q", pub, err, tt.want)
			}
			_, err := s.Load("victim")
			if tt.pub && err != nil {
				t.Errorf("Load = %v, want the key", err)
			}
			if !tt.pub && (err == nil || !strings.Contains(err.Error(), tt.want)) {
				t.Errorf("Load = %v, want an error saying %q", err, tt.want)
			}
		})
	}

	// A folder that exists already, writable by others, is not used to
	// create keys.
	dir := filepath.Join(t.TempDir(), "keys")
	os.Mkdir(dir, 0o777)
	os.Chmod(dir, 0o777)
	s := KeyStore{Dir: dir}
	if err := s.Create("a", other); err == nil || !strings.Contains(err.Error(), "chmod 700") {
		t.Errorf("Create in a 0777 folder = %v, want an error saying chmod 700", err)
	}
	if _, err := os.Stat(s.keyPath("a")); err == nil {
		t.Errorf("Create in a 0777 folder wrote %s", s.keyPath("a"))
	}
	if _, err := s.List(); err == nil {
		t.Errorf("List of a 0777 folder = nil error, want one")
	}
	// A .pub alone is not the key store's key of that instance.
	s = KeyStore{Dir: t.TempDir()}
	os.WriteFile(s.pubPath("lonely"), other.Public().MarshalPEM(), 0o644)
	if _, err := s.PublicPEM("lonely"); !errors.Is(err, ErrNotFound) {
		t.Errorf("PublicPEM of a .pub without .key = %v, want ErrNotFound", err)
	}
}
