package client

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/gofrs/flock"

	"github.com/hive-dev/hive/signing"
)

// ErrKeyChanged reports that a server presents another key for an instance
// than the one pinned on first sight: the server, or the instance's key,
// was replaced.
var ErrKeyChanged = errors.New("instance key changed")

// maxKnownKeys bounds the known keys file.
const maxKnownKeys = 4 << 20

// KnownKeys pins the public key of each instance a client has seen on a
// server, the first time it sees it, like ssh's known_hosts: one line per
// server and instance,
//
//	<server URL> <instance id> <algorithm> <fingerprint>
//
// where the fingerprint is the SHA-256 of the key's DER form (hex), as
// `hive instances` prints it. Lines starting with # are comments. A server
// that later presents another key for a pinned instance is refused with
// ErrKeyChanged until the line is removed. With Path "" the pins live in
// memory only, for the client's life.
type KnownKeys struct {
	Path string

	mu  sync.Mutex
	mem map[string]string // server+" "+instance -> algorithm+" "+fingerprint
}

// DefaultKnownKeysPath is $HIVE_KNOWN_KEYS, else known_keys in the hive
// folder of the user's config dir (~/.config/hive/known_keys).
func DefaultKnownKeysPath() (string, error) {
	if p := os.Getenv("HIVE_KNOWN_KEYS"); p != "" {
		return p, nil
	}
	dir, err := os.UserConfigDir()
	if err != nil {
		return "", fmt.Errorf("find the known keys file: %w", err)
	}
	return filepath.Join(dir, "hive", "known_keys"), nil
}

// Check pins pub as instance's key on server when none is pinned, and
// otherwise requires it to be the pinned key.
func (k *KnownKeys) Check(server, instance string, pub *signing.PublicKey) error {
	server = strings.TrimRight(server, "/")
	if strings.ContainsAny(server, " \t\n") || strings.ContainsAny(instance, " \t\n") {
		return fmt.Errorf("pin key of %q on %q: blanks in a name", instance, server)
	}
	want := string(pub.Algorithm()) + " " + pub.Fingerprint()
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.mem == nil {
		k.mem = map[string]string{}
	}
	key := server + " " + instance
	if got, ok := k.mem[key]; ok {
		return k.compare(server, instance, got, want, 0)
	}
	if k.Path == "" {
		k.mem[key] = want
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(k.Path), 0o700); err != nil {
		return fmt.Errorf("known keys: %w", err)
	}
	lock := flock.New(k.Path + ".lock")
	if err := lock.Lock(); err != nil {
		return fmt.Errorf("lock %s: %w", k.Path, err)
	}
	defer lock.Unlock()
	pins, err := k.read()
	if err != nil {
		return err
	}
	if p, ok := pins[key]; ok {
		k.mem[key] = p.value
		return k.compare(server, instance, p.value, want, p.line)
	}
	f, err := os.OpenFile(k.Path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("known keys: %w", err)
	}
	if _, err := fmt.Fprintf(f, "%s %s %s\n", server, instance, want); err != nil {
		f.Close()
		return fmt.Errorf("known keys %s: %w", k.Path, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("known keys %s: %w", k.Path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("known keys %s: %w", k.Path, err)
	}
	k.mem[key] = want
	return nil
}

func (k *KnownKeys) compare(server, instance, pinned, got string, line int) error {
	if pinned == got {
		return nil
	}
	where := "in memory"
	if k.Path != "" {
		where = fmt.Sprintf("%s line %d", k.Path, line)
	}
	return fmt.Errorf("%s presents key %s for instance %s, but %s is pinned (%s); if the instance rotated its key, remove that line: %w",
		server, got, instance, pinned, where, ErrKeyChanged)
}

type pin struct {
	value string
	line  int
}

// read parses the known keys file; a missing file pins nothing.
func (k *KnownKeys) read() (map[string]pin, error) {
	f, err := os.Open(k.Path)
	if errors.Is(err, fs.ErrNotExist) {
		return map[string]pin{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("known keys: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxKnownKeys+1))
	if err != nil {
		return nil, fmt.Errorf("known keys %s: %w", k.Path, err)
	}
	if len(b) > maxKnownKeys {
		return nil, fmt.Errorf("known keys %s: over %d bytes", k.Path, maxKnownKeys)
	}
	pins := map[string]pin{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(nil, maxKnownKeys)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Fields(line)
		if len(f) != 4 || (f[2] != string(signing.Ed25519) && f[2] != string(signing.ECDSAP256)) || len(f[3]) != 64 {
			return nil, fmt.Errorf("known keys %s line %d: want <server> <instance> <algorithm> <fingerprint>", k.Path, n)
		}
		key := f[0] + " " + f[1]
		if _, dup := pins[key]; !dup {
			pins[key] = pin{f[2] + " " + f[3], n}
		}
	}
	return pins, nil
}
