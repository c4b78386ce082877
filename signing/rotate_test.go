package signing

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
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

// TestKeyStoreRetired: a retired key is found by its fingerprint after
// each rotation, and only by its own.
func TestKeyStoreRetired(t *testing.T) {
	ks := KeyStore{Dir: filepath.Join(t.TempDir(), "keys")}
	k1, k2, k3 := mustEd25519(t, 1), mustEd25519(t, 2), mustEd25519(t, 3)
	if err := ks.Create("a", k1); err != nil {
		t.Fatal(err)
	}
	if _, err := ks.Retired("a", k1.Public().Fingerprint()); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Retired before any rotation = %v, want ErrNotFound", err)
	}
	for _, next := range []*PrivateKey{k2, k3} {
		if err := ks.Stage("a", next); err != nil {
			t.Fatal(err)
		}
		if _, err := ks.Promote("a"); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		name     string
		instance string
		fp       string
		want     *PrivateKey
	}{
		{"the first key", "a", k1.Public().Fingerprint(), k1},
		{"the second key", "a", k2.Public().Fingerprint(), k2},
		{"the current key is not retired", "a", k3.Public().Fingerprint(), nil},
		{"another instance", "b", k1.Public().Fingerprint(), nil},
		{"a prefix only", "a", k1.Public().Fingerprint()[:16], nil},
		{"a prefix and something else", "a", k1.Public().Fingerprint()[:16] + strings.Repeat("0", 48), nil},
		{"a path", "a", "../../a", nil},
	} {
		k, err := ks.Retired(tc.instance, tc.fp)
		switch {
		case tc.want == nil && !errors.Is(err, ErrNotFound):
			t.Errorf("%s: Retired = %v, %v; want ErrNotFound", tc.name, k, err)
		case tc.want != nil && (err != nil || !k.Public().Equal(tc.want.Public())):
			t.Errorf("%s: Retired = %v, %v; want the key", tc.name, k, err)
		}
	}
	// a staged key another rotation set aside is kept with the retired ones
	k4 := mustEd25519(t, 4)
	if err := ks.Stage("a", k4); err != nil {
		t.Fatal(err)
	}
	if _, err := ks.RetireStaged("a"); err != nil {
		t.Fatal(err)
	}
	if _, err := ks.Staged("a"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Staged after RetireStaged = %v, want ErrNotFound", err)
	}
	if k, err := ks.Retired("a", k4.Public().Fingerprint()); err != nil || !k.Public().Equal(k4.Public()) {
		t.Errorf("Retired of the set-aside staged key = %v, %v", k, err)
	}
	if k, err := ks.Load("a"); err != nil || !k.Public().Equal(k3.Public()) {
		t.Errorf("Load after RetireStaged = %v, %v; want the current key unchanged", k, err)
	}
	if _, err := ks.Retired("../a", k1.Public().Fingerprint()); err == nil {
		t.Error("Retired of an invalid instance name: no error")
	}
}
