package agentskills

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/hive-dev/hive/fixtures"
	"github.com/hive-dev/hive/schema"
	"github.com/hive-dev/hive/signing"
)

// TestVouched: a folder whose signature does not verify with the key
// given is refused, unless the vouch says the hive holds that very trace
// and bundle (the instance's key changed after it signed).
func TestVouched(t *testing.T) {
	trace, err := schema.Canonical(fixtures.Seed())
	if err != nil {
		t.Fatal(err)
	}
	bundle, err := signing.Sign(fixtures.Key("instance_a"), trace)
	if err != nil {
		t.Fatal(err)
	}
	id := schema.Digest(trace)
	files, err := Render("seed", id, trace, bundle)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "seed")
	if err := writeFolder(filepath.Dir(dir), "seed", files, nil); err != nil {
		t.Fatal(err)
	}
	rotated := func(string) (*signing.PublicKey, error) { return fixtures.Key("instance_a_new").Public(), nil }
	if _, err := verifyAs(dir, "seed", rotated, nil); !errors.Is(err, ErrTampered) {
		t.Errorf("with another key and no vouch = %v, want ErrTampered", err)
	}
	if _, err := verifyAs(dir, "seed", rotated, func(schema.ID, []byte) bool { return false }); !errors.Is(err, ErrTampered) {
		t.Errorf("with another key, not vouched = %v, want ErrTampered", err)
	}
	sk, err := verifyAs(dir, "seed", rotated, func(got schema.ID, b []byte) bool { return got == id && string(b) == string(bundle) })
	if err != nil || !sk.Vouched {
		t.Errorf("vouched = %+v, %v", sk, err)
	}
	// A vouch does not excuse anything else: an edited SKILL.md.
	os.WriteFile(filepath.Join(dir, SkillFile), append(files[SkillFile], '\n'), 0o644)
	if _, err := verifyAs(dir, "seed", rotated, func(schema.ID, []byte) bool { return true }); !errors.Is(err, ErrTampered) {
		t.Errorf("vouched but SKILL.md edited = %v, want ErrTampered", err)
	}
}
