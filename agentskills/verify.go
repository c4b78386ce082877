package agentskills

import (
	"bytes"
	"fmt"
	"path/filepath"

	"github.com/hive-dev/hive/schema"
	"github.com/hive-dev/hive/signing"
)

// Skill is a skill folder that verified.
type Skill struct {
	Dir   string             // the folder
	Name  string             // its name (the folder's)
	ID    schema.ID          // the trace it holds
	Trace *schema.Trace      // the trace
	Key   *signing.PublicKey // the key its signature verified with
	// Vouched: the signature does not verify with the instance's key now,
	// but trace and signature are byte for byte those on the hive's main,
	// which the validator checked with the key valid when they were added
	// (the instance's key has changed since).
	Vouched bool
}

// KeyFunc returns the public key registered for an instance.
type KeyFunc func(instance string) (*signing.PublicKey, error)

// Verify checks the exported skill folder dir: its SKILL.md front matter
// follows the rules and names the folder; references/trace.json hashes to
// the hive-id it names and is a valid trace; references/trace.sigstore.json
// verifies over it with keys(instance) for the trace's instance; SKILL.md
// is exactly what Render writes for that trace; and the folder holds no
// other file. A folder that fails is ErrTampered (or ErrInvalid when it
// was never a hive export), naming the first difference.
func Verify(dir string, keys KeyFunc) (*Skill, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	return verifyAs(abs, filepath.Base(abs), keys, nil)
}

// verifyAs is Verify of the folder dir as if it were named name; when the
// signature does not verify and vouch(id, bundle) says the hive holds that
// very trace and bundle, the skill is Vouched instead of refused.
func verifyAs(dir, name string, keys KeyFunc, vouch func(id schema.ID, bundle []byte) bool) (*Skill, error) {
	files, err := readFolder(dir)
	if err != nil {
		return nil, err
	}
	md, ok := files[SkillFile]
	if !ok {
		return nil, fmt.Errorf("%s: no %s: %w", dir, SkillFile, ErrInvalid)
	}
	fm, _, err := Parse(md)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", dir, err)
	}
	if err := fm.Check(name); err != nil {
		return nil, fmt.Errorf("%s: %s: %w", dir, SkillFile, err)
	}
	switch f := fm.Metadata[MetaFormat]; f {
	case Format:
	case "":
		return nil, fmt.Errorf("%s: not a hive skill (no %s in its metadata): %w", dir, MetaFormat, ErrInvalid)
	default:
		return nil, fmt.Errorf("%s: %s %q: this hive writes and checks format %s: %w", dir, MetaFormat, f, Format, ErrInvalid)
	}
	id, err := schema.ParseID(fm.Metadata[MetaID])
	if err != nil {
		return nil, fmt.Errorf("%s: %s: metadata %s: %v: %w", dir, SkillFile, MetaID, err, ErrTampered)
	}
	trace, ok1 := files[TraceFile]
	bundle, ok2 := files[BundleFile]
	if !ok1 || !ok2 {
		return nil, fmt.Errorf("%s: %s and %s are required: %w", dir, TraceFile, BundleFile, ErrTampered)
	}
	if got := schema.Digest(trace); got != id {
		return nil, fmt.Errorf("%s: %s hashes to %s, not to the %s in %s: %w", dir, TraceFile, got, id, SkillFile, ErrTampered)
	}
	t, err := schema.ParseCanonical(trace)
	if err != nil {
		return nil, fmt.Errorf("%s: %s: %v: %w", dir, TraceFile, err, ErrTampered)
	}
	key, err := keys(t.InstanceID)
	if err != nil {
		return nil, fmt.Errorf("%s: key of instance %s: %w", dir, t.InstanceID, err)
	}
	b, err := signing.ParseBundle(bundle)
	if err == nil {
		err = b.Verify(key, trace)
	}
	vouched := false
	if err != nil {
		if vouch == nil || !vouch(id, bundle) {
			return nil, fmt.Errorf("%s: %s: %v: %w", dir, BundleFile, err, ErrTampered)
		}
		vouched = true
	}
	want, err := Render(name, id, trace, bundle)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", dir, err)
	}
	for _, p := range sortedPaths(files) {
		if _, ok := want[p]; !ok {
			return nil, fmt.Errorf("%s: %s is not part of the signed skill: %w", dir, p, ErrTampered)
		}
	}
	if !bytes.Equal(md, want[SkillFile]) {
		return nil, fmt.Errorf("%s: %s line %d differs from what the signed trace says: %w", dir, SkillFile, firstDiffLine(md, want[SkillFile]), ErrTampered)
	}
	return &Skill{Dir: dir, Name: name, ID: id, Trace: t, Key: key, Vouched: vouched}, nil
}

// firstDiffLine is the 1-based line where a and b first differ.
func firstDiffLine(a, b []byte) int {
	n := min(len(a), len(b))
	i := 0
	for i < n && a[i] == b[i] {
		i++
	}
	return bytes.Count(a[:i], []byte("\n")) + 1
}
