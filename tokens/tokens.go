// Package tokens keeps the API tokens of hive serve, as a package
// registry keeps its publishers' tokens: a token is shown once, when it is
// made; the server's state, outside the hive, keeps only its SHA-256 with
// the instance it writes as, its scope and its expiry.
package tokens

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gofrs/flock"

	"github.com/hive-dev/hive/schema"
)

// Scope is what a token may do.
type Scope string

// Scopes.
const (
	// Write writes as the token's instance: its skills and records, its
	// key, its submission branches hive/<instance>/*, main when all it
	// adds is the instance's own.
	Write Scope = "write"
	// Maintainer does what a maintainer does: push what any instance may,
	// merge others' work into main, delete submission branches. It acts
	// only while its instance is a maintainer in the hive's policy.
	Maintainer Scope = "maintainer"
)

// Token is a token's record: everything but the secret.
type Token struct {
	ID       string    `json:"id"`     // the first 12 hex digits of the hash; names the token in list and revoke
	Hash     string    `json:"sha256"` // hex SHA-256 of the secret
	Instance string    `json:"instance"`
	Scope    Scope     `json:"scope"`
	Created  time.Time `json:"created"`
	Expires  time.Time `json:"expires,omitzero"` // zero: never
}

// Expired reports whether t has expired at now.
func (t Token) Expired(now time.Time) bool { return !t.Expires.IsZero() && !now.Before(t.Expires) }

var (
	// ErrInvalid reports a secret that is no token of the store.
	ErrInvalid = errors.New("invalid token")
	// ErrExpired reports a token past its expiry.
	ErrExpired = errors.New("token expired")
	// ErrNotFound reports no token with an id.
	ErrNotFound = errors.New("no such token")
)

// prefix starts every secret, so that secret scanners and people can tell a
// hive token from other strings.
const prefix = "hive_"

// secretLen is the length of a secret: the prefix and 32 random bytes in
// base32.
var secretLen = len(prefix) + enc.EncodedLen(32)

var enc = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// FileName is the file of a store's folder that holds the records.
const FileName = "tokens.json"

// Store is the tokens of one server, in a folder of its state. It
// rereads the file when it changes, so tokens added or revoked by another
// process (hive serve token ...) count at once.
type Store struct {
	dir string
	now func() time.Time

	mu     sync.Mutex
	stamp  fileStamp
	byHash map[string]Token
}

type fileStamp struct {
	size int64
	mod  time.Time
	ino  uint64
}

// Open returns the store in dir; the folder is made when a token is added.
func Open(dir string) *Store { return &Store{dir: dir, now: time.Now} }

// Dir is the store's folder.
func (s *Store) Dir() string { return s.dir }

func (s *Store) path() string { return filepath.Join(s.dir, FileName) }

// DefaultDir is the state folder of a server of the hive whose git folder
// is gitDir: $HIVE_STATE_DIR/serve/<hive>, else under $XDG_STATE_HOME or
// ~/.local/state, where <hive> is the folder's name and a hash of its
// absolute path. It lies outside the hive: nothing in it is served or
// pushed.
func DefaultDir(gitDir string) (string, error) {
	abs, err := filepath.Abs(gitDir)
	if err != nil {
		return "", err
	}
	base := os.Getenv("HIVE_STATE_DIR")
	if base == "" {
		state := os.Getenv("XDG_STATE_HOME")
		if state == "" {
			home, err := os.UserHomeDir()
			if err != nil {
				return "", fmt.Errorf("find the server's state folder: %w", err)
			}
			state = filepath.Join(home, ".local", "state")
		}
		base = filepath.Join(state, "hive")
	}
	name := filepath.Base(abs)
	if name == ".git" {
		name = filepath.Base(filepath.Dir(abs))
	}
	name = strings.Map(func(r rune) rune {
		if 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' || r == '-' || r == '_' || r == '.' {
			return r
		}
		return '_'
	}, strings.TrimSuffix(name, ".git"))
	sum := sha256.Sum256([]byte(abs))
	return filepath.Join(base, "serve", name+"-"+hex.EncodeToString(sum[:6])), nil
}

// ParseExpiry reads an expiry: "never", a number of days ("90d"), a Go
// duration ("36h"), a date ("2027-01-31", at midnight UTC) or an RFC 3339
// time. It returns the zero time for never.
func ParseExpiry(v string, now time.Time) (time.Time, error) {
	switch {
	case v == "never":
		return time.Time{}, nil
	case strings.HasSuffix(v, "d"):
		n, err := strconv.Atoi(strings.TrimSuffix(v, "d"))
		if err == nil && n > 0 && n <= 36600 {
			return now.Add(time.Duration(n) * 24 * time.Hour), nil
		}
	default:
		if d, err := time.ParseDuration(v); err == nil && d > 0 {
			return now.Add(d), nil
		}
		for _, layout := range []string{time.DateOnly, time.RFC3339} {
			if t, err := time.Parse(layout, v); err == nil && t.After(now) {
				return t, nil
			}
		}
	}
	return time.Time{}, fmt.Errorf("expiry %q: want never, a number of days (90d), a duration (36h), or a future date (2027-01-31) or time (RFC 3339)", v)
}

// Add makes a token for instance with scope, valid until expires (zero:
// never). It returns the secret, which is nowhere else: the store keeps
// its hash.
func (s *Store) Add(instance string, scope Scope, expires time.Time) (string, Token, error) {
	if !schema.ValidInstanceID(instance) {
		return "", Token{}, fmt.Errorf("add token: instance id %s must match %s", schema.Quote(instance, 70), schema.InstanceIDPattern)
	}
	if scope != Write && scope != Maintainer {
		return "", Token{}, fmt.Errorf("add token: scope %s: want %s or %s", schema.Quote(string(scope), 30), Write, Maintainer)
	}
	var raw [32]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return "", Token{}, err
	}
	secret := prefix + enc.EncodeToString(raw[:])
	h := hash(secret)
	now := s.now().UTC().Truncate(time.Second)
	t := Token{ID: h[:12], Hash: h, Instance: instance, Scope: scope, Created: now, Expires: expires.UTC()}
	err := s.update(func(list []Token) ([]Token, error) {
		if slices.ContainsFunc(list, func(o Token) bool { return o.ID == t.ID }) {
			return nil, fmt.Errorf("add token: id %s is taken; try again", t.ID)
		}
		return append(list, t), nil
	})
	if err != nil {
		return "", Token{}, err
	}
	return secret, t, nil
}

// Revoke removes the token whose id is id (or starts with it, when that
// names one token).
func (s *Store) Revoke(id string) (Token, error) {
	var gone Token
	err := s.update(func(list []Token) ([]Token, error) {
		i, err := find(list, id)
		if err != nil {
			return nil, err
		}
		gone = list[i]
		return slices.Delete(list, i, i+1), nil
	})
	return gone, err
}

func find(list []Token, id string) (int, error) {
	at := -1
	for i, t := range list {
		if id != "" && strings.HasPrefix(t.ID, id) {
			if at >= 0 {
				return -1, fmt.Errorf("token id %s names more than one token; give more digits", schema.Quote(id, 20))
			}
			at = i
		}
	}
	if at < 0 {
		return -1, fmt.Errorf("token %s: %w", schema.Quote(id, 20), ErrNotFound)
	}
	return at, nil
}

// List returns the tokens, oldest first, expired ones included.
func (s *Store) List() ([]Token, error) {
	list, err := s.read()
	if err != nil {
		return nil, err
	}
	slices.SortStableFunc(list, func(a, b Token) int { return a.Created.Compare(b.Created) })
	return list, nil
}

// Active counts the tokens that have not expired.
func (s *Store) Active() (int, error) {
	if err := s.refresh(); err != nil {
		return 0, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	n, now := 0, s.now()
	for _, t := range s.byHash {
		if !t.Expired(now) {
			n++
		}
	}
	return n, nil
}

// Lookup returns the token whose secret is secret: ErrInvalid when there
// is none, ErrExpired (with the token) when it has expired.
func (s *Store) Lookup(secret string) (Token, error) {
	if len(secret) != secretLen || !strings.HasPrefix(secret, prefix) {
		return Token{}, ErrInvalid
	}
	if err := s.refresh(); err != nil {
		return Token{}, err
	}
	s.mu.Lock()
	t, ok := s.byHash[hash(secret)]
	s.mu.Unlock()
	switch {
	case !ok:
		return Token{}, ErrInvalid
	case t.Expired(s.now()):
		return t, ErrExpired
	}
	return t, nil
}

func hash(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// refresh rereads the file when it has changed since it was last read.
func (s *Store) refresh() error {
	st, err := s.stat()
	if err != nil {
		return err
	}
	s.mu.Lock()
	same := s.byHash != nil && st == s.stamp
	s.mu.Unlock()
	if same {
		return nil
	}
	list, err := s.read()
	if err != nil {
		return err
	}
	m := make(map[string]Token, len(list))
	for _, t := range list {
		m[t.Hash] = t
	}
	s.mu.Lock()
	s.byHash, s.stamp = m, st
	s.mu.Unlock()
	return nil
}

func (s *Store) stat() (fileStamp, error) {
	fi, err := os.Lstat(s.path())
	if errors.Is(err, fs.ErrNotExist) {
		return fileStamp{}, nil
	}
	if err != nil {
		return fileStamp{}, err
	}
	return fileStamp{size: fi.Size(), mod: fi.ModTime(), ino: inode(fi)}, nil
}

// file is the JSON of the tokens file.
type file struct {
	Tokens []Token `json:"tokens"`
}

// maxFile bounds the tokens file.
const maxFile = 16 << 20

// read reads the records; a missing file holds none. A file or folder that
// others may write to is refused: they could add a token of their own.
func (s *Store) read() ([]Token, error) {
	p := s.path()
	if err := checkPrivate(s.dir, true); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	if err := checkPrivate(p, false); errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	b, err := os.ReadFile(p)
	if err != nil {
		return nil, fmt.Errorf("read tokens: %w", err)
	}
	if len(b) > maxFile {
		return nil, fmt.Errorf("read tokens %s: over %d bytes", p, maxFile)
	}
	var f file
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("read tokens %s: %v", p, err)
	}
	for i, t := range f.Tokens {
		if len(t.Hash) != 64 || t.ID != t.Hash[:12] || !schema.ValidInstanceID(t.Instance) || (t.Scope != Write && t.Scope != Maintainer) {
			return nil, fmt.Errorf("read tokens %s: record %d is malformed", p, i+1)
		}
	}
	return f.Tokens, nil
}

// checkPrivate refuses a symlink, and a file or folder that group or
// others may write to.
func checkPrivate(p string, dir bool) error {
	fi, err := os.Lstat(p)
	if err != nil {
		return err
	}
	switch {
	case fi.Mode()&fs.ModeSymlink != 0:
		return fmt.Errorf("%s is a symlink; the token store refuses symlinks", p)
	case dir != fi.IsDir():
		return fmt.Errorf("%s is not a %s", p, map[bool]string{true: "folder", false: "regular file"}[dir])
	case runtime.GOOS != "windows" && fi.Mode().Perm()&0o022 != 0:
		return fmt.Errorf("%s is writable by group or others (mode %04o), who could add tokens: run chmod go-w %s", p, fi.Mode().Perm(), p)
	}
	return nil
}

// update changes the records under an exclusive lock of the folder and
// writes them whole: a temporary file, synced, renamed over the old.
func (s *Store) update(change func([]Token) ([]Token, error)) error {
	if err := os.MkdirAll(s.dir, 0o700); err != nil {
		return fmt.Errorf("make the token folder: %w", err)
	}
	if err := checkPrivate(s.dir, true); err != nil {
		return err
	}
	lock := flock.New(filepath.Join(s.dir, ".lock"))
	if err := lock.Lock(); err != nil {
		return fmt.Errorf("lock tokens: %w", err)
	}
	defer lock.Unlock()
	list, err := s.read()
	if err != nil {
		return err
	}
	if list, err = change(list); err != nil {
		return err
	}
	b, err := json.MarshalIndent(file{Tokens: list}, "", "  ")
	if err != nil {
		return err
	}
	f, err := os.CreateTemp(s.dir, ".tmp-tokens-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	_, err = f.Write(append(b, '\n'))
	if err == nil {
		err = f.Chmod(0o600)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, s.path())
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write tokens: %w", err)
	}
	return nil
}
