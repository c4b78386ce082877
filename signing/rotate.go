package signing

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
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
		retired = s.retiredPath(instance, old.Public().Fingerprint())
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

// fingerprintForm is the form of PublicKey.Fingerprint.
var fingerprintForm = regexp.MustCompile(`^[0-9a-f]{64}$`)

// retiredPath is the file Promote keeps instance's retired key in.
func (s KeyStore) retiredPath(instance, fingerprint string) string {
	if len(fingerprint) > 16 {
		fingerprint = fingerprint[:16]
	}
	return filepath.Join(s.Dir, "retired", instance+"."+fingerprint+".key")
}

// Retired returns instance's retired key whose public key has the given
// fingerprint (as PublicKey.Fingerprint), as Promote kept it: the key a
// hive that has not seen the rotation still has registered. It is read
// with Load's checks, and ErrNotFound when no retired key has that
// fingerprint.
func (s KeyStore) Retired(instance, fingerprint string) (*PrivateKey, error) {
	if err := checkInstance(instance); err != nil {
		return nil, err
	}
	if !fingerprintForm.MatchString(fingerprint) {
		return nil, fmt.Errorf("retired key of instance %s: %q is not a key fingerprint (64 hex digits): %w", instance, fingerprint, ErrNotFound)
	}
	path := s.retiredPath(instance, fingerprint)
	k, err := loadPrivate(path, "retired key of instance "+instance, "load retired key")
	if err != nil {
		return nil, err
	}
	if got := k.Public().Fingerprint(); got != fingerprint {
		return nil, fmt.Errorf("retired key %s has fingerprint %s, not %s: %w", path, got, fingerprint, ErrNotFound)
	}
	return k, nil
}

// RetireStaged moves instance's staged key to the retired keys, where
// Retired finds it, and returns its file: a staged key that one hive may
// have registered before the rotation was interrupted is kept, not lost.
func (s KeyStore) RetireStaged(instance string) (string, error) {
	k, err := s.Staged(instance)
	if err != nil {
		return "", err
	}
	dir := filepath.Join(s.Dir, "retired")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("create %s: %w", dir, err)
	}
	st := s.staging()
	path := s.retiredPath(instance, k.Public().Fingerprint())
	if err := os.Rename(st.keyPath(instance), path); err != nil {
		return "", fmt.Errorf("retire staged key of %s: %w", instance, err)
	}
	if err := os.Remove(st.pubPath(instance)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return path, fmt.Errorf("retire staged key of %s: %w", instance, err)
	}
	if err := syncDir(dir); err != nil {
		return path, err
	}
	return path, syncDir(st.Dir)
}
