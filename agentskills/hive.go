package agentskills

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"

	"github.com/hive-dev/hive/registry"
	"github.com/hive-dev/hive/reuse"
	"github.com/hive-dev/hive/schema"
	"github.com/hive-dev/hive/search"
	"github.com/hive-dev/hive/trust"
)

// ErrExists reports a folder that holds something else than the skill to
// write there.
var ErrExists = errors.New("folder exists")

// Export writes the skill id of st's main as the folder dir/name and
// returns its path; name "" derives it from the intent (Name). A folder of
// that name is replaced only when it already holds the same skill (a
// repair); one that holds anything else is ErrExists.
func Export(st *registry.Store, id schema.ID, dir, name string) (string, error) {
	if err := verifiedMain(st); err != nil {
		return "", err
	}
	e, err := st.Trace(id)
	if err != nil {
		return "", err
	}
	if name == "" {
		name = Name(e.Trace.Intent, id)
	}
	if err := CheckName(name); err != nil {
		return "", err
	}
	dst := filepath.Join(dir, name)
	if held, err := heldID(dst); err == nil && held != id {
		return "", fmt.Errorf("%s holds %s; export %s under another name: %w", dst, describe(held), id, ErrExists)
	} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return "", err
	}
	files, err := Render(name, id, e.Data, e.Bundle)
	if err != nil {
		return "", err
	}
	return dst, writeFolder(dir, name, files, func(tmp string) error {
		_, err := verifyAs(tmp, name, st.Key, vouchedBy(st))
		return err
	})
}

// verifiedMain checks main (from the recorded verified tips onward)
// before its keys and skills are trusted.
func verifiedMain(st *registry.Store) error {
	head, err := st.Head()
	if err != nil {
		return err
	}
	rep, err := st.Verify(head, registry.VerifyOptions{})
	if err != nil {
		return err
	}
	if err := rep.Err(); err != nil {
		return fmt.Errorf("main does not verify, nothing is checked against it: %w", err)
	}
	return nil
}

// vouchedBy says whether st's main holds the trace id with exactly this
// bundle: then the validator checked the signature when it was added, with
// the key valid then, whatever key the instance has now.
func vouchedBy(st *registry.Store) func(schema.ID, []byte) bool {
	return func(id schema.ID, bundle []byte) bool {
		e, err := st.Trace(id)
		return err == nil && bytes.Equal(e.Bundle, bundle)
	}
}

// heldID is the hive-id a skill folder's SKILL.md names ("" for a folder
// that is not a hive skill); an fs.ErrNotExist error when there is no
// folder.
func heldID(dir string) (schema.ID, error) {
	if _, err := os.Lstat(dir); err != nil {
		return "", err
	}
	b, err := readFile(filepath.Join(dir, SkillFile), maxFileSize)
	if err != nil {
		return "", nil
	}
	fm, _, err := Parse(b)
	if err != nil {
		return "", nil
	}
	id, err := schema.ParseID(fm.Metadata[MetaID])
	if err != nil {
		return "", nil
	}
	return id, nil
}

func describe(id schema.ID) string {
	if id == "" {
		return "something that is not a hive skill"
	}
	return "skill " + string(id)
}

// Checked is a skill folder verified against a hive.
type Checked struct {
	*Skill
	InHive       bool        // the trace is on the hive's main
	OpenDisputes []schema.ID // disputes against it not yet resolved
}

// Check is Verify with the keys registered on st's main, once main
// verifies; it also refuses a skill that a resolved dispute removed from
// the hive (ErrUntrusted), reports whether the trace is on main and its
// open disputes, and accepts a skill whose trace and signature are main's
// own when the instance's key has changed since (Skill.Vouched).
func Check(st *registry.Store, dir string) (*Checked, error) {
	if err := verifiedMain(st); err != nil {
		return nil, err
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	sk, err := verifyAs(abs, filepath.Base(abs), st.Key, vouchedBy(st))
	if err != nil {
		return nil, err
	}
	if r, err := st.Removed(sk.ID); err != nil {
		return nil, err
	} else if r != nil {
		return nil, fmt.Errorf("%s: skill %s was removed from the hive by the resolved dispute %s: %w", dir, sk.ID, r.Dispute, ErrUntrusted)
	}
	out := &Checked{Skill: sk}
	if _, err := st.Trace(sk.ID); err == nil {
		out.InHive = true
	} else if !errors.Is(err, registry.ErrNotFound) {
		return nil, err
	}
	ds, err := st.Disputes()
	if err != nil {
		return nil, err
	}
	for _, d := range ds {
		if d.Dispute.Trace == sk.ID && d.Resolution == nil {
			out.OpenDisputes = append(out.OpenDisputes, d.ID)
		}
	}
	return out, nil
}

// InstallOptions say where and how to install.
type InstallOptions struct {
	Dir    string // the skills folder of an agent, such as ~/.agents/skills
	Name   string // the skill folder's name ("" derives it from the intent)
	Force  bool   // install a skill the trust policy does not trust, or replace a folder that does not verify
	Update bool   // move to the best trusted descendant by the same author, replacing an older install
	// AnyAuthor lets an update move to a descendant by another author, and
	// replace a folder's skill with another author's.
	AnyAuthor bool
}

// Installed is what Install did.
type Installed struct {
	*Skill                 // the folder as verified after writing
	Verdict  reuse.Verdict // the trust policy's answer for the skill
	Previous schema.ID     // the skill the folder held before, if another
	// PreviousAuthor is the author (instance id) of Previous.
	PreviousAuthor string
	Changed        bool // false: the folder held this skill already, nothing was written
	// Passed is, for an update, a better trusted descendant by another
	// author that was not taken (without InstallOptions.AnyAuthor).
	Passed *Descendant
}

// Descendant is a descendant of a skill and its author.
type Descendant struct {
	ID       schema.ID `json:"id"`
	Instance string    `json:"instance_id"`
}

// AuthorChangeError reports an update that would replace a folder's skill
// by one of another author.
type AuthorChangeError struct {
	Dir          string
	Held, Target schema.ID
	From, To     string // the authors (instance ids) of Held and Target
}

func (e *AuthorChangeError) Error() string {
	return fmt.Sprintf("%s holds skill %s by %s; %s is by %s, and --update keeps a folder's author (--allow-author-change replaces it)",
		e.Dir, e.Held, e.From, e.Target, e.To)
}

// idLike is what a trace id or a prefix of one looks like.
var idLike = regexp.MustCompile(`(?i)^(sha256:)?[0-9a-f]{6,64}$`)

// Install resolves query under the local trust policy and installs the
// skill as an Agent Skills folder in o.Dir. query is a trace id (or unique
// prefix), the name of a folder already installed in o.Dir (to update it),
// or a task in words, resolved as hive resolve does (reuse.View.Resolve).
// A skill the policy does not trust, or with an open dispute, is refused
// (ErrUntrusted) unless o.Force.
//
// With o.Update, the skill is replaced by its best trusted descendant
// signed by the same instance (deepest, then highest confidence and
// verification score, then id), whether or not the skill itself is still
// trusted; it is refused only when neither it nor such a descendant is. A
// better descendant by another author is not taken but reported
// (Installed.Passed), and a folder holding a skill of one author is not
// replaced by another's (AuthorChangeError), unless o.AnyAuthor: anyone with
// a registered key can derive a skill, and an update must not hand the
// folder to them unasked. The author is the instance id, so a rotated key
// of the same instance is the same author.
//
// Installing a skill already installed writes nothing; a folder of the
// same name holding another skill is replaced only with o.Update (or
// o.Force when it does not verify). The folder is written beside its
// destination, verified, then moved in.
func Install(st *registry.Store, query string, o InstallOptions) (*Installed, error) {
	name := o.Name
	var start schema.ID
	if CheckName(query) == nil && o.Dir != "" {
		if held, err := heldID(filepath.Join(o.Dir, query)); err == nil && held != "" {
			start = held
			if name == "" {
				name = query
			}
		}
	}
	if start == "" && idLike.MatchString(query) {
		var err error
		if start, err = st.ResolveID(query); err != nil {
			return nil, err
		}
	}
	// Only a task in words needs the search index.
	var ix *search.Index
	if start == "" {
		var err error
		if ix, err = search.OpenIndex(st); err != nil {
			return nil, err
		}
	}
	v, err := reuse.Open(st, ix, nil)
	if err != nil {
		return nil, err
	}
	if start == "" {
		c, err := v.Resolve(st, query)
		switch {
		case errors.Is(err, trust.ErrNoSkill) && o.Force:
			rs := ix.Search(search.Query{Text: query, Threshold: v.Policy.Threshold, Limit: 1})
			if len(rs) == 0 {
				return nil, err
			}
			start = rs[0].ID
		case err != nil:
			return nil, err
		default:
			start = c.ID
		}
	}
	r, err := v.Skill(st, start)
	if err != nil {
		return nil, err
	}
	verdict := v.Judge(r)
	target := start
	out := &Installed{}
	if o.Update {
		// An update judges where it goes, not where it starts: a skill
		// whose author lost standing still leads to a trusted descendant.
		var best, other candidate
		if best, other, err = bestDescendant(st, v, start, r.InstanceID, o.AnyAuthor); err != nil {
			return nil, err
		}
		if best.id != "" {
			target, verdict = best.id, best.verdict
		}
		if other.id != "" {
			out.Passed = &Descendant{other.id, other.instance}
		}
	}
	if !verdict.Trusted && !o.Force {
		switch {
		case o.Update && out.Passed != nil:
			return nil, fmt.Errorf("skill %s is not trusted (%s) and none of its descendants by %s is; %s by %s is, but --update follows only the installed skill's author (--allow-author-change takes it): %w",
				start, verdict.Why, r.InstanceID, out.Passed.ID, out.Passed.Instance, ErrUntrusted)
		case o.Update:
			return nil, fmt.Errorf("skill %s is not trusted (%s) and none of its descendants is (--force installs it anyway): %w", start, verdict.Why, ErrUntrusted)
		}
		return nil, fmt.Errorf("skill %s is not trusted: %s (--force installs it anyway): %w", start, verdict.Why, ErrUntrusted)
	}
	out.Verdict = verdict
	e, err := st.Trace(target)
	if err != nil {
		return nil, err
	}
	if name == "" {
		se, err := st.Trace(start)
		if err != nil {
			return nil, err
		}
		name = Name(se.Trace.Intent, start)
	}
	if err := CheckName(name); err != nil {
		return nil, err
	}
	dst := filepath.Join(o.Dir, name)
	if _, err := os.Lstat(dst); err == nil {
		sk, verr := verifyAs(dst, name, st.Key, vouchedBy(st))
		switch {
		case verr == nil && sk.ID == target:
			out.Skill = sk
			return out, nil
		case verr == nil && !o.Update:
			return nil, fmt.Errorf("%s holds skill %s; --update replaces it with %s: %w", dst, sk.ID, target, ErrExists)
		case verr == nil && sk.Trace.InstanceID != e.Trace.InstanceID && !o.AnyAuthor:
			return nil, &AuthorChangeError{dst, sk.ID, target, sk.Trace.InstanceID, e.Trace.InstanceID}
		case verr == nil:
			out.Previous, out.PreviousAuthor = sk.ID, sk.Trace.InstanceID
		case !o.Force:
			return nil, fmt.Errorf("%s is there and does not verify (%v); --force replaces it: %w", dst, verr, ErrExists)
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	files, err := Render(name, target, e.Data, e.Bundle)
	if err != nil {
		return nil, err
	}
	err = writeFolder(o.Dir, name, files, func(tmp string) error {
		_, err := verifyAs(tmp, name, st.Key, vouchedBy(st))
		return err
	})
	if err != nil {
		return nil, err
	}
	if out.Skill, err = verifyAs(dst, name, st.Key, vouchedBy(st)); err != nil {
		return nil, err
	}
	out.Changed = true
	return out, nil
}

// candidate is a trusted descendant an update may move to.
type candidate struct {
	id       schema.ID
	instance string
	depth    int
	quality  float64
	verdict  reuse.Verdict
}

// bestDescendant finds where an update of start, a skill by author, moves:
// best is its best trusted descendant by author (by any author with
// anyAuthor) under v's policy (v.Judge, the bars trust.Choose applies), or
// none; other is the best trusted descendant of all when it is by another
// author and best is not it, or none.
func bestDescendant(st *registry.Store, v *reuse.View, start schema.ID, author string, anyAuthor bool) (best, other candidate, err error) {
	g, err := v.Lineage(st, start)
	if err != nil {
		return best, other, err
	}
	var cs []candidate
	for _, d := range g.Descendants {
		r, err := v.Skill(st, d)
		if err != nil {
			continue
		}
		if vd := v.Judge(r); vd.Trusted {
			cs = append(cs, candidate{d, r.InstanceID, g.Depth[d], r.Confidence + r.VerificationScore, vd})
		}
	}
	sort.Slice(cs, func(i, j int) bool {
		a, b := cs[i], cs[j]
		if a.depth != b.depth {
			return a.depth > b.depth
		}
		if a.quality != b.quality {
			return a.quality > b.quality
		}
		return a.id < b.id
	})
	for _, c := range cs {
		if anyAuthor || c.instance == author {
			best = c
			break
		}
	}
	if len(cs) > 0 && cs[0].instance != author && !anyAuthor {
		other = cs[0]
	}
	return best, other, nil
}
