package signing

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
)

// KeyStore keeps an instance's private keys on disk: Dir/<instance>.key
// (PKCS#8 PEM, mode 0600) and Dir/<instance>.pub (PEM, mode 0644), in a
// directory of mode 0700. The .key file is the source of truth; the .pub file
// is a copy for people and other tools.
type KeyStore struct {
	// Dir is the directory holding the keys.
	Dir string
}

// instanceName is the form of an instance name: path-safe on every system.
var instanceName = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,62}$`)

// DefaultKeyStore returns the key store in $HIVE_KEY_DIR if that is set,
// else in the hive/keys directory of os.UserConfigDir.
func DefaultKeyStore() (KeyStore, error) {
	if dir := os.Getenv("HIVE_KEY_DIR"); dir != "" {
		return KeyStore{Dir: dir}, nil
	}
	cfg, err := os.UserConfigDir()
	if err != nil {
		return KeyStore{}, fmt.Errorf("find key directory: %w", err)
	}
	return KeyStore{Dir: filepath.Join(cfg, "hive", "keys")}, nil
}

func checkInstance(instance string) error {
	if !instanceName.MatchString(instance) {
		return fmt.Errorf("invalid instance name %q: want 1 to 63 of a-z, 0-9, '_' and '-', starting with a letter or digit", instance)
	}
	return nil
}

func (s KeyStore) keyPath(instance string) string { return filepath.Join(s.Dir, instance+".key") }
func (s KeyStore) pubPath(instance string) string { return filepath.Join(s.Dir, instance+".pub") }

// Create stores k as instance's key. It never overwrites a key: if one exists
// it returns ErrExists. Each file is written to a temporary file, synced and
// then moved into place, and the directory is synced, so a crash leaves
// either no key or a whole one.
func (s KeyStore) Create(instance string, k *PrivateKey) error {
	if err := checkInstance(instance); err != nil {
		return err
	}
	if k == nil {
		return fmt.Errorf("create key %s: nil key: %w", instance, ErrKeyInvalid)
	}
	keyPEM, err := k.MarshalPEM()
	if err != nil {
		return fmt.Errorf("create key %s: %w", instance, err)
	}
	if err := os.MkdirAll(s.Dir, 0o700); err != nil {
		return fmt.Errorf("create key directory: %w", err)
	}
	if err := s.checkDir(); err != nil {
		return err
	}
	keyPath := s.keyPath(instance)
	if _, err := os.Lstat(keyPath); err == nil {
		return fmt.Errorf("create key %s: %w", keyPath, ErrExists)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("create key %s: %w", keyPath, err)
	}
	// The private key is linked into place, which fails if the name exists
	// (like O_EXCL): two racing Creates cannot both win.
	if err := writeFileAtomic(s.Dir, keyPath, keyPEM, 0o600, false); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("create key %s: %w", keyPath, ErrExists)
		}
		return fmt.Errorf("create key %s: %w", keyPath, err)
	}
	// A .pub left without its .key (an earlier crash) is replaced.
	if err := writeFileAtomic(s.Dir, s.pubPath(instance), k.Public().MarshalPEM(), 0o644, true); err != nil {
		return fmt.Errorf("create public key %s: %w", s.pubPath(instance), err)
	}
	if err := syncDir(s.Dir); err != nil {
		return fmt.Errorf("sync key directory %s: %w", s.Dir, err)
	}
	return nil
}

// writeFileAtomic writes data to a temporary file in dir with mode perm,
// syncs it, and moves it to path: by rename when replace is set, else by a
// hard link that fails with fs.ErrExist when path exists.
func writeFileAtomic(dir, path string, data []byte, perm os.FileMode, replace bool) (err error) {
	f, err := os.CreateTemp(dir, ".tmp-"+filepath.Base(path)+"-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer func() {
		if f != nil {
			f.Close()
		}
		if err != nil || !replace {
			os.Remove(tmp)
		}
	}()
	if err = f.Chmod(perm); err != nil && runtime.GOOS != "windows" {
		return err
	}
	if _, err = f.Write(data); err != nil {
		return err
	}
	if err = f.Sync(); err != nil {
		return err
	}
	err = f.Close()
	f = nil
	if err != nil {
		return err
	}
	if replace {
		return os.Rename(tmp, path)
	}
	return os.Link(tmp, path)
}

func syncDir(dir string) error {
	if runtime.GOOS == "windows" {
		return nil
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// Load reads instance's private key. It returns ErrNotFound when there is
// none. As ssh does, it refuses a key that group or others may read, a key
// folder they may write to, either owned by another user, and symlinks.
func (s KeyStore) Load(instance string) (*PrivateKey, error) {
	if err := checkInstance(instance); err != nil {
		return nil, err
	}
	return loadPrivate(s.keyPath(instance), "load key of instance "+instance, "load key")
}

// loadPrivate reads the private key file path with Load's checks of the
// file and of its folder; missing names the key for ErrNotFound, and what
// starts the other errors.
func loadPrivate(path, missing, what string) (*PrivateKey, error) {
	if err := (KeyStore{Dir: filepath.Dir(path)}).checkDir(); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%s: %s: %w", missing, path, ErrNotFound)
		}
		return nil, err
	}
	b, err := readKeyFile(path, 0o077, maxPrivateKeySize)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%s: %s: %w", missing, path, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	k, err := ParsePrivateKeyPEM(b)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", what, path, err)
	}
	return k, nil
}

// checkDir refuses a key folder that is not a folder of the user's own,
// or that group or others may write to (as sshd's StrictModes does).
func (s KeyStore) checkDir() error {
	fi, err := os.Lstat(s.Dir)
	if err != nil {
		return fmt.Errorf("key folder: %w", err)
	}
	switch {
	case fi.Mode()&fs.ModeSymlink != 0:
		return fmt.Errorf("key folder %s is a symlink; the key store refuses symlinks: use the folder it points to", s.Dir)
	case !fi.IsDir():
		return fmt.Errorf("key folder %s is not a folder", s.Dir)
	}
	if runtime.GOOS == "windows" {
		return nil
	}
	if uid, other := ownedByOther(fi); other {
		return fmt.Errorf("key folder %s belongs to another user (uid %d)", s.Dir, uid)
	}
	if perm := fi.Mode().Perm(); perm&0o022 != 0 {
		return fmt.Errorf("key folder %s is writable by group or others (mode %04o), who could swap its keys: run chmod 700 %s", s.Dir, perm, s.Dir)
	}
	return nil
}

// readKeyFile reads a file of the key store: a regular file of the user's
// own, not a symlink, with no permission bit of deny set (0o077 for a
// private key: group and others; 0o022 for a public key: their writes).
func readKeyFile(path string, deny fs.FileMode, limit int64) ([]byte, error) {
	li, err := os.Lstat(path)
	if err != nil {
		return nil, err
	}
	if li.Mode()&fs.ModeSymlink != 0 {
		return nil, fmt.Errorf("%s is a symlink; the key store refuses symlinks", path)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file", path)
	}
	if !os.SameFile(li, fi) {
		return nil, fmt.Errorf("%s changed while it was opened", path)
	}
	if runtime.GOOS != "windows" {
		if uid, other := ownedByOther(fi); other {
			return nil, fmt.Errorf("%s belongs to another user (uid %d)", path, uid)
		}
		if perm := fi.Mode().Perm(); perm&deny != 0 {
			if deny == 0o077 {
				return nil, fmt.Errorf("private key file %s is accessible by others (mode %04o): run chmod 600 %s", path, perm, path)
			}
			return nil, fmt.Errorf("key file %s is writable by others (mode %04o): run chmod 644 %s", path, perm, path)
		}
	}
	b, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return b, nil
}

// PublicPEM returns the public key of instance in the canonical PEM form that
// a hive registers: the public half of its private key. A .pub file beside
// the key must hold that same key, or PublicPEM refuses both, since a .pub
// swapped by someone else would register their key in instance's name.
// ErrNotFound when there is no private key.
func (s KeyStore) PublicPEM(instance string) ([]byte, error) {
	k, err := s.Load(instance)
	if err != nil {
		return nil, err
	}
	pub := k.Public().MarshalPEM()
	path := s.pubPath(instance)
	b, err := readKeyFile(path, 0o022, MaxPublicKeySize)
	if errors.Is(err, fs.ErrNotExist) {
		return pub, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read public key: %w", err)
	}
	p, err := ParsePublicKeyPEM(b)
	if err != nil {
		return nil, fmt.Errorf("read public key %s: %w", path, err)
	}
	if !p.Equal(k.Public()) {
		return nil, fmt.Errorf("public key %s is not the public half of %s (%s, not %s): remove it to have it made again, or register a key file with --pub", path, s.keyPath(instance), p.Fingerprint(), k.Public().Fingerprint())
	}
	return pub, nil
}

// List returns the sorted names of the instances with a key in s. A missing
// directory holds no keys.
func (s KeyStore) List() ([]string, error) {
	if err := s.checkDir(); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, nil
		}
		return nil, err
	}
	entries, err := os.ReadDir(s.Dir)
	if err != nil {
		return nil, fmt.Errorf("list keys: %w", err)
	}
	var names []string
	for _, e := range entries { // os.ReadDir sorts by name
		name, ok := strings.CutSuffix(e.Name(), ".key")
		if ok && e.Type().IsRegular() && instanceName.MatchString(name) {
			names = append(names, name)
		}
	}
	return names, nil
}
