package agentskills

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"

	"github.com/hive-dev/hive/registry"
	"github.com/hive-dev/hive/schema"
)

// ImportTag is the tag of every trace Import makes.
const ImportTag = "agent-skill"

// ImportOptions say who signs an imported skill and what it claims.
type ImportOptions struct {
	Instance     string           // the instance that signs it
	Confidence   float64          // its confidence in the skill, in [0,1]
	Verification float64          // its verification score, in [0,1]
	Keys         registry.KeyFunc // its private key
	Now          time.Time        // created_at (default: now)
}

// Imported is a folder brought into a hive.
type Imported struct {
	registry.Added
	Trace *schema.Trace
}

// Import turns the Agent Skills folder dir into a trace signed by
// o.Instance and commits it to st, through the same checks as hive add.
// The folder's SKILL.md must follow the specification (strict front
// matter, the name equal to the folder's); its files must be UTF-8 text.
// The trace's intent is the description (a folder exported from a hive
// of a skill on st's main keeps that skill's intent); its steps are the body's
// second-level headings (or one step when there are none); its result is
// SKILL.md followed by every other file, each under a heading with its
// path (line ends as \n, text in NFC); its tag is agent-skill; and when the
// folder is a hive export (metadata hive-id) of a skill on main, that skill
// is its lineage parent.
func Import(st *registry.Store, dir string, o ImportOptions) (*Imported, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	name := filepath.Base(abs)
	files, err := readFolder(abs)
	if err != nil {
		return nil, err
	}
	md, ok := files[SkillFile]
	if !ok {
		return nil, fmt.Errorf("%s: no %s: %w", dir, SkillFile, ErrInvalid)
	}
	fm, body, err := Parse(md)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", dir, err)
	}
	if err := fm.Check(name); err != nil {
		return nil, fmt.Errorf("%s: %s: %w", dir, SkillFile, err)
	}
	res, err := folderText(files)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", dir, err)
	}
	if n := utf8.RuneCountInString(res); n > schema.MaxResult {
		return nil, fmt.Errorf("%s: %d characters of text, over the %d a trace's result holds: %w", dir, n, schema.MaxResult, ErrInvalid)
	}
	draft := map[string]any{
		"intent":             clip(strings.Join(strings.Fields(norm.NFC.String(fm.Description)), " "), schema.MaxIntent),
		"reasoning_path":     steps(body, name),
		"result":             res,
		"confidence":         o.Confidence,
		"verification_score": o.Verification,
		"tags":               []string{ImportTag},
	}
	if id, err := schema.ParseID(fm.Metadata[MetaID]); err == nil {
		if e, err := st.Trace(id); err == nil {
			// A folder exported from this hive: a skill derived from that
			// one, for the same task (the description adds hive's words).
			draft["lineage"] = []schema.ID{id}
			draft["intent"] = e.Trace.Intent
		} else if !errors.Is(err, registry.ErrNotFound) {
			return nil, err
		}
	}
	raw, err := json.Marshal(draft)
	if err != nil {
		return nil, err
	}
	now := o.Now
	if now.IsZero() {
		now = time.Now()
	}
	trace, err := schema.Complete(raw, o.Instance, now)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", dir, err)
	}
	t, err := schema.ParseCanonical(trace)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", dir, err)
	}
	added, err := st.Add([]registry.Input{{Name: dir, Data: trace}}, o.Keys)
	if err != nil {
		return nil, err
	}
	return &Imported{Added: added[0], Trace: t}, nil
}

// folderText is the result of an imported folder: SKILL.md, then every
// other file under a heading with its path, in a fenced block.
func folderText(files map[string][]byte) (string, error) {
	var b strings.Builder
	text, err := textOf(SkillFile, files[SkillFile])
	if err != nil {
		return "", err
	}
	b.WriteString(text)
	for _, p := range sortedPaths(files) {
		if p == SkillFile {
			continue
		}
		t, err := textOf(p, files[p])
		if err != nil {
			return "", err
		}
		fence := strings.Repeat("`", max(3, longestRun(t, '`')+1))
		fmt.Fprintf(&b, "\n\n## File %s\n\n%s\n%s\n%s\n", p, fence, strings.TrimSuffix(t, "\n"), fence)
	}
	return b.String(), nil
}

// textOf checks that a file is text a trace may carry, with \n line ends
// and in NFC.
func textOf(p string, b []byte) (string, error) {
	if !utf8.Valid(b) || bytes.IndexByte(b, 0) >= 0 {
		return "", fmt.Errorf("%s is not UTF-8 text; a trace carries text only: %w", p, ErrInvalid)
	}
	s := strings.ReplaceAll(string(b), "\r\n", "\n")
	return norm.NFC.String(s), nil
}

// steps are the reasoning path of an imported skill: the body's second
// level headings (outside code blocks), or one step.
func steps(body []byte, name string) []schema.Step {
	var out []schema.Step
	fence := ""
	for _, line := range strings.Split(string(body), "\n") {
		trimmed := strings.TrimSpace(line)
		if f := fenceOf(trimmed); f != "" && (fence == "" || strings.HasPrefix(trimmed, fence)) {
			if fence == "" {
				fence = f
			} else {
				fence = ""
			}
			continue
		}
		if fence != "" || !strings.HasPrefix(line, "## ") {
			continue
		}
		action := clip(strings.Join(strings.Fields(norm.NFC.String(line[3:])), " "), schema.MaxAction)
		if action != "" && len(out) < schema.MaxSteps {
			out = append(out, schema.Step{Step: len(out) + 1, Action: action})
		}
	}
	if len(out) == 0 {
		out = []schema.Step{{Step: 1, Action: clip("follow the instructions of the Agent Skill "+name, schema.MaxAction)}}
	}
	return out
}

// fenceOf is the fence a line opens or closes (``` or ~~~, or longer), or "".
func fenceOf(line string) string {
	for _, c := range []string{"`", "~"} {
		n := len(line) - len(strings.TrimLeft(line, c))
		if n >= 3 {
			return strings.Repeat(c, n)
		}
	}
	return ""
}

// clip cuts s to at most n code points, ending with "…" when cut.
func clip(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n-1]) + "…"
}
