package signing

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// A key rotation in the key store: the new key is staged in the store's
// next/ folder, the hive records the rotation, and Promote then makes the
// staged key current and moves the retired one to retired/, named
// <instance>.<fingerprint prefix>.key. A crash in between leaves a staged
// key that Staged finds, so the rotation can be finished or discarded.

// staging is the key store of staged keys.
func (s KeyStore) staging() KeyStore { return KeyStore{Dir: filepath.Join(s.Dir, "next")} }

// Stage stores k as instance's next key. It refuses to replace a key
// already staged (ErrExists): that one may be the key a hive now expects.
func (s KeyStore) Stage(instance string, k *PrivateKey) error {
	if err := os.MkdirAll(s.Dir, 0o700); err != nil {
		return fmt.Errorf("create key directory: %w", err)
	}
	return s.staging().Create(instance, k)
}

// Staged returns instance's staged key, or an error wrapping ErrNotFound
// when there is none.
func (s KeyStore) Staged(instance string) (*PrivateKey, error) { return s.staging().Load(instance) }

// Discard removes instance's staged key, if any.
func (s KeyStore) Discard(instance string) error {
	if err := checkInstance(instance); err != nil {
		return err
	}
	st := s.staging()
	for _, p := range []string{st.keyPath(instance), st.pubPath(instance)} {
		if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("discard staged key of %s: %w", instance, err)
		}
	}
	return syncDir(st.Dir)
}

// Promote makes instance's staged key its current key and returns the file
// that keeps the retired one ("" when there was no current key).
func (s KeyStore) Promote(instance string) (string, error) {
	next, err := s.Staged(instance)
	if err != nil {
		return "", err
	}
	retired := ""
	if old, err := s.Load(instance); err == nil {
		dir := filepath.Join(s.Dir, "retired")
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return "", fmt.Errorf("create %s: %w", dir, err)
		}
		retired = filepath.Join(dir, instance+"."+old.Public().Fingerprint()[:16]+".key")
		if err := os.Rename(s.keyPath(instance), retired); err != nil {
			return "", fmt.Errorf("retire key of %s: %w", instance, err)
		}
	} else if !errors.Is(err, ErrNotFound) {
		return "", err
	}
	st := s.staging()
	if err := os.Rename(st.keyPath(instance), s.keyPath(instance)); err != nil {
		return retired, fmt.Errorf("promote key of %s: %w", instance, err)
	}
	os.Remove(st.pubPath(instance))
	if err := writeFileAtomic(s.Dir, s.pubPath(instance), next.Public().MarshalPEM(), 0o644, true); err != nil {
		return retired, fmt.Errorf("write public key %s: %w", s.pubPath(instance), err)
	}
	return retired, syncDir(s.Dir)
}
