// Package agentskills turns hive skills into Agent Skills folders
// (agentskills.io: a folder NAME/ with SKILL.md, YAML front matter and a
// Markdown body) and back: Export writes a signed skill as a folder that
// carries its trace and signature under references/, Verify checks that a
// folder still says exactly what the signed trace says, Install resolves a
// task under the local trust policy and exports the chosen skill, and
// Import brings an existing folder under a signature and lineage.
package agentskills

import (
	"bytes"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
)

// Errors of this package, wrapped with detail; test with errors.Is.
var (
	// ErrInvalid: a SKILL.md or a folder that breaks the Agent Skills rules.
	ErrInvalid = errors.New("invalid skill folder")
	// ErrTampered: a folder that no longer matches its signed trace.
	ErrTampered = errors.New("skill folder does not match its signed trace")
	// ErrUntrusted: a skill the local trust policy does not allow.
	ErrUntrusted = errors.New("skill not trusted")
)

// Limits of the Agent Skills specification.
const (
	MaxName          = 64
	MaxDescription   = 1024
	MaxCompatibility = 500
)

// SkillFile is the file every skill folder holds.
const SkillFile = "SKILL.md"

// FrontMatter is the YAML front matter of a SKILL.md.
type FrontMatter struct {
	Name          string            `yaml:"name"`
	Description   string            `yaml:"description"`
	License       string            `yaml:"license,omitempty"`
	Compatibility string            `yaml:"compatibility,omitempty"`
	Metadata      map[string]string `yaml:"metadata,omitempty"`
	AllowedTools  string            `yaml:"allowed-tools,omitempty"`
}

// nameRe is the grammar of a skill name: lower-case letters and digits in
// runs joined by single hyphens.
var nameRe = regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)*$`)

// CheckName reports whether name is a valid skill name: 1 to 64 lower-case
// letters, digits and single hyphens, not starting or ending with one.
func CheckName(name string) error {
	switch {
	case name == "":
		return fmt.Errorf("name: empty: %w", ErrInvalid)
	case len(name) > MaxName:
		return fmt.Errorf("name %q: %d characters, over %d: %w", name[:MaxName]+"...", len(name), MaxName, ErrInvalid)
	case !nameRe.MatchString(name):
		return fmt.Errorf("name %q: only lower-case letters, digits and single hyphens, not at either end: %w", name, ErrInvalid)
	}
	return nil
}

// Check applies the specification's rules to the front matter of the
// folder named folder ("" skips the name's match with the folder).
func (fm *FrontMatter) Check(folder string) error {
	if err := CheckName(fm.Name); err != nil {
		return err
	}
	if folder != "" && fm.Name != folder {
		return fmt.Errorf("name %q: not the folder's name %q: %w", fm.Name, folder, ErrInvalid)
	}
	if strings.TrimSpace(fm.Description) == "" {
		return fmt.Errorf("description: empty: %w", ErrInvalid)
	}
	if n := utf8.RuneCountInString(fm.Description); n > MaxDescription {
		return fmt.Errorf("description: %d characters, over %d: %w", n, MaxDescription, ErrInvalid)
	}
	if n := utf8.RuneCountInString(fm.Compatibility); n > MaxCompatibility {
		return fmt.Errorf("compatibility: %d characters, over %d: %w", n, MaxCompatibility, ErrInvalid)
	}
	return nil
}

// maxFrontMatter bounds the front matter, which agents load for every
// skill they know.
const maxFrontMatter = 64 << 10

// Parse splits a SKILL.md into its front matter and its Markdown body.
// The front matter is parsed strictly: a YAML mapping of the known fields
// only, each once, strings where the specification says strings (a number
// or a date must be quoted), metadata a mapping of strings to strings, and
// no anchors, aliases or tags. It does not apply Check.
func Parse(b []byte) (*FrontMatter, []byte, error) {
	rest, ok := cutLine(b, "---")
	if !ok {
		return nil, nil, fmt.Errorf("%s: does not start with a line --- opening the front matter: %w", SkillFile, ErrInvalid)
	}
	var yml, body []byte
	for off := 0; ; {
		line, after, found := bytes.Cut(rest[off:], []byte("\n"))
		if string(bytes.TrimSuffix(line, []byte("\r"))) == "---" {
			yml, body = rest[:off], after
			break
		}
		if !found {
			return nil, nil, fmt.Errorf("%s: no line --- closes the front matter: %w", SkillFile, ErrInvalid)
		}
		if off += len(line) + 1; off > maxFrontMatter {
			return nil, nil, fmt.Errorf("%s: front matter over %d bytes: %w", SkillFile, maxFrontMatter, ErrInvalid)
		}
	}
	fm, err := parseFrontMatter(yml)
	if err != nil {
		return nil, nil, err
	}
	return fm, body, nil
}

// cutLine returns what follows b's first line when that line is exactly
// want (with "\n" or "\r\n"; or the end of b).
func cutLine(b []byte, want string) ([]byte, bool) {
	line, rest, found := bytes.Cut(b, []byte("\n"))
	line = bytes.TrimSuffix(line, []byte("\r"))
	if string(line) != want {
		return nil, false
	}
	if !found {
		rest = nil
	}
	return rest, true
}

// fields are the front matter's known keys, in the order they are written.
var fields = []string{"name", "description", "license", "compatibility", "metadata", "allowed-tools"}

func parseFrontMatter(yml []byte) (*FrontMatter, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(yml, &doc); err != nil {
		return nil, fmt.Errorf("%s: front matter: %s: %w", SkillFile, oneLine(err.Error()), ErrInvalid)
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) != 1 || doc.Content[0].Kind != yaml.MappingNode {
		return nil, fmt.Errorf("%s: the front matter is not a YAML mapping: %w", SkillFile, ErrInvalid)
	}
	m := doc.Content[0]
	fm := &FrontMatter{}
	seen := map[string]int{}
	for i := 0; i+1 < len(m.Content); i += 2 {
		k, v := m.Content[i], m.Content[i+1]
		key, err := str(k, "a key")
		if err != nil {
			return nil, err
		}
		if !slices.Contains(fields, key) {
			return nil, fmt.Errorf("%s line %d: unknown field %q (the front matter has %s): %w", SkillFile, k.Line+1, key, strings.Join(fields, ", "), ErrInvalid)
		}
		if l, dup := seen[key]; dup {
			return nil, fmt.Errorf("%s line %d: %s: given twice (first on line %d): %w", SkillFile, k.Line+1, key, l, ErrInvalid)
		}
		seen[key] = k.Line + 1
		if key == "metadata" {
			if fm.Metadata, err = strMap(v); err != nil {
				return nil, err
			}
			continue
		}
		s, err := str(v, key)
		if err != nil {
			return nil, err
		}
		switch key {
		case "name":
			fm.Name = s
		case "description":
			fm.Description = s
		case "license":
			fm.License = s
		case "compatibility":
			fm.Compatibility = s
		case "allowed-tools":
			fm.AllowedTools = s
		}
	}
	for _, req := range []string{"name", "description"} {
		if _, ok := seen[req]; !ok {
			return nil, fmt.Errorf("%s: front matter: %s: missing: %w", SkillFile, req, ErrInvalid)
		}
	}
	return fm, nil
}

// str reads a node that must be a plain string scalar.
func str(n *yaml.Node, field string) (string, error) {
	line := n.Line + 1
	switch {
	case n.Kind == yaml.AliasNode || n.Anchor != "":
		return "", fmt.Errorf("%s line %d: %s: anchors and aliases are not allowed: %w", SkillFile, line, field, ErrInvalid)
	case n.Kind != yaml.ScalarNode:
		return "", fmt.Errorf("%s line %d: %s: want a string, found a %s: %w", SkillFile, line, field, kind(n), ErrInvalid)
	case n.Tag != "!!str":
		return "", fmt.Errorf("%s line %d: %s: want a string, found %s %q (quote it): %w", SkillFile, line, field, strings.TrimPrefix(n.Tag, "!!"), n.Value, ErrInvalid)
	case n.Style&yaml.TaggedStyle != 0:
		return "", fmt.Errorf("%s line %d: %s: explicit tags are not allowed: %w", SkillFile, line, field, ErrInvalid)
	}
	return n.Value, nil
}

// strMap reads metadata: a mapping of strings to strings.
func strMap(n *yaml.Node) (map[string]string, error) {
	if n.Kind != yaml.MappingNode || n.Anchor != "" {
		return nil, fmt.Errorf("%s line %d: metadata: want a mapping of strings to strings, found a %s: %w", SkillFile, n.Line+1, kind(n), ErrInvalid)
	}
	out := map[string]string{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, err := str(n.Content[i], "a metadata key")
		if err != nil {
			return nil, err
		}
		if _, dup := out[k]; dup {
			return nil, fmt.Errorf("%s line %d: metadata.%s: given twice: %w", SkillFile, n.Content[i].Line+1, k, ErrInvalid)
		}
		v, err := str(n.Content[i+1], "metadata."+k)
		if err != nil {
			return nil, err
		}
		out[k] = v
	}
	return out, nil
}

func kind(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "mapping"
	case yaml.SequenceNode:
		return "list"
	case yaml.AliasNode:
		return "alias"
	}
	return "scalar"
}

// Marshal writes the front matter as YAML, fields in the specification's
// order, with the library's quoting, so that any text survives a round trip.
func (fm *FrontMatter) Marshal() ([]byte, error) {
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(fm); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }
