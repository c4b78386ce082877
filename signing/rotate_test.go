package signing

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// TestKeyStoreRotation: a staged key becomes current only on Promote; the
// retired one is kept apart, and a second Stage never replaces the first.
func TestKeyStoreRotation(t *testing.T) {
	ks := KeyStore{Dir: filepath.Join(t.TempDir(), "keys")}
	old := mustEd25519(t, 1)
	next := mustEd25519(t, 2)
	if err := ks.Create("a", old); err != nil {
		t.Fatal(err)
	}
	if _, err := ks.Staged("a"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Staged before Stage = %v, want ErrNotFound", err)
	}
	if err := ks.Stage("a", next); err != nil {
		t.Fatal(err)
	}
	if err := ks.Stage("a", old); !errors.Is(err, ErrExists) {
		t.Errorf("a second Stage = %v, want ErrExists", err)
	}
	if k, err := ks.Load("a"); err != nil || !k.Public().Equal(old.Public()) {
		t.Fatalf("Load while staged = %v, %v; want the old key", k, err)
	}
	if names, _ := ks.List(); len(names) != 1 || names[0] != "a" {
		t.Errorf("List = %v, want [a]", names)
	}
	retired, err := ks.Promote("a")
	if err != nil {
		t.Fatal(err)
	}
	if k, err := ks.Load("a"); err != nil || !k.Public().Equal(next.Public()) {
		t.Fatalf("Load after Promote = %v, %v; want the new key", k, err)
	}
	if pub, err := ks.PublicPEM("a"); err != nil || string(pub) != string(next.Public().MarshalPEM()) {
		t.Errorf("PublicPEM after Promote = %s, %v", pub, err)
	}
	fi, err := os.Stat(retired)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("retired key %s: %v, %v; want mode 0600", retired, fi, err)
	}
	if _, err := ks.Staged("a"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Staged after Promote = %v, want ErrNotFound", err)
	}
	if err := ks.Stage("a", old); err != nil {
		t.Fatal(err)
	}
	if err := ks.Discard("a"); err != nil {
		t.Fatal(err)
	}
	if _, err := ks.Promote("a"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Promote after Discard = %v, want ErrNotFound", err)
	}
}
