package agentskills

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"

	"github.com/hive-dev/hive/schema"
)

// Format is the version of the folder layout and SKILL.md text that Render
// writes, kept in the metadata as hive-format; Verify re-renders with it.
const Format = "1"

// The files of an exported skill besides SKILL.md.
const (
	TraceFile  = "references/trace.json"
	BundleFile = "references/trace.sigstore.json"
)

// Metadata keys of an exported skill.
const (
	MetaFormat       = "hive-format"
	MetaID           = "hive-id"
	MetaInstance     = "hive-instance"
	MetaLineage      = "hive-lineage"
	MetaConfidence   = "hive-confidence"
	MetaVerification = "hive-verification-score"
	MetaCreated      = "hive-created-at"
	MetaTags         = "hive-tags"
)

// Name derives a skill name from an intent: its words in lower-case ASCII
// (accents dropped) joined by hyphens, cut at a word to 64 characters;
// "skill-<12 hex digits of id>" when no word is left.
func Name(intent string, id schema.ID) string {
	var b strings.Builder
	hyphen := false
	for _, r := range norm.NFKD.String(intent) {
		switch {
		case unicode.Is(unicode.Mn, r):
			continue
		case r < utf8.RuneSelf && (unicode.IsLetter(r) || unicode.IsDigit(r)):
			if hyphen && b.Len() > 0 {
				b.WriteByte('-')
			}
			hyphen = false
			b.WriteRune(unicode.ToLower(r))
		default:
			hyphen = true
		}
	}
	name := b.String()
	for len(name) > MaxName {
		i := strings.LastIndexByte(name[:MaxName+1], '-')
		if i <= 0 {
			name = strings.TrimRight(name[:MaxName], "-")
			break
		}
		name = name[:i]
	}
	if name == "" {
		return "skill-" + id.Hex()[:12]
	}
	return name
}

// Render returns the files of the Agent Skills folder name/ for the trace
// id (its exact bytes and its bundle): SKILL.md, with front matter made
// from the trace and a body giving its steps and result, and the trace and
// bundle under references/. It is a pure function of its inputs, so that
// Verify can render again and compare.
func Render(name string, id schema.ID, trace, bundle []byte) (map[string][]byte, error) {
	if schema.Digest(trace) != id {
		return nil, fmt.Errorf("render %s: the trace's bytes hash to %s: %w", id, schema.Digest(trace), ErrTampered)
	}
	t, err := schema.ParseCanonical(trace)
	if err != nil {
		return nil, fmt.Errorf("render %s: %w", id, err)
	}
	fm := frontMatter(name, id, t)
	if err := fm.Check(name); err != nil {
		return nil, err
	}
	head, err := fm.Marshal()
	if err != nil {
		return nil, err
	}
	var b strings.Builder
	b.WriteString("---\n")
	b.Write(head)
	b.WriteString("---\n\n")
	b.WriteString(body(id, t))
	return map[string][]byte{SkillFile: []byte(b.String()), TraceFile: trace, BundleFile: bundle}, nil
}

func frontMatter(name string, id schema.ID, t *schema.Trace) *FrontMatter {
	meta := map[string]string{
		MetaFormat:       Format,
		MetaID:           string(id),
		MetaInstance:     t.InstanceID,
		MetaConfidence:   num(t.Confidence),
		MetaVerification: num(t.VerificationScore),
		MetaCreated:      t.CreatedAt,
	}
	if len(t.Lineage) > 0 {
		ids := make([]string, len(t.Lineage))
		for i, l := range t.Lineage {
			ids[i] = string(l)
		}
		meta[MetaLineage] = strings.Join(ids, " ")
	}
	if len(t.Tags) > 0 {
		meta[MetaTags] = strings.Join(t.Tags, " ")
	}
	return &FrontMatter{Name: name, Description: description(id, t), Metadata: meta}
}

// description says what the skill does (its intent) and when to use it,
// within MaxDescription characters.
func description(id schema.ID, t *schema.Trace) string {
	tail := fmt.Sprintf(" Use this skill when a task matches that intent: it gives the steps and the signed result of hive skill %s by instance %s (confidence %s, verification score %s).",
		id.Short(), t.InstanceID, num(t.Confidence), num(t.VerificationScore))
	intent := strings.TrimRight(t.Intent, ". ")
	if room := MaxDescription - utf8.RuneCountInString(tail) - 1; utf8.RuneCountInString(intent) > room {
		intent = string([]rune(intent)[:room-1]) + "…"
	}
	return intent + "." + tail
}

func body(id schema.ID, t *schema.Trace) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# %s\n\n", t.Intent)
	fmt.Fprintf(&b, "A skill from a hive: what the agent instance `%s` did for this task, signed with its key.\n\n", t.InstanceID)
	fmt.Fprintf(&b, "- id: `%s`\n", id)
	fmt.Fprintf(&b, "- created: %s\n", t.CreatedAt)
	fmt.Fprintf(&b, "- confidence %s, verification score %s\n", num(t.Confidence), num(t.VerificationScore))
	if len(t.Lineage) > 0 {
		ids := make([]string, len(t.Lineage))
		for i, l := range t.Lineage {
			ids[i] = "`" + string(l) + "`"
		}
		fmt.Fprintf(&b, "- derived from %s\n", strings.Join(ids, ", "))
	}
	if len(t.Tags) > 0 {
		fmt.Fprintf(&b, "- tags: %s\n", strings.Join(t.Tags, ", "))
	}
	b.WriteString("\n## Steps\n\n")
	for _, st := range t.ReasoningPath {
		fmt.Fprintf(&b, "%d. %s\n", st.Step, st.Action)
		for _, line := range strings.Split(st.Detail, "\n") {
			if st.Detail != "" {
				fmt.Fprintf(&b, "   %s\n", line)
			}
		}
	}
	b.WriteString("\n## Result\n\n")
	fence := strings.Repeat("`", max(3, longestRun(t.Result, '`')+1))
	fmt.Fprintf(&b, "%s\n%s\n%s\n", fence, t.Result, fence)
	fmt.Fprintf(&b, "\n## Check it\n\n"+
		"`%s` is the trace exactly as it was signed (its sha256 is the id above) and\n"+
		"`%s` its signature, a sigstore bundle. `hive skill verify <this folder>` checks\n"+
		"both against the hive's key for `%s`, and that this file says what the trace says.\n"+
		"Offline, with that key (`keys/%s.pub` in the hive) and cosign:\n\n"+
		"    printf '%%s' '{\"mediaType\":\"application/vnd.dev.sigstore.trustedroot+json;version=0.1\"}' > R\n"+
		"    cosign verify-blob --key %s.pub --bundle %s \\\n"+
		"      --new-bundle-format --insecure-ignore-tlog --trusted-root R %s\n",
		TraceFile, BundleFile, t.InstanceID, t.InstanceID, t.InstanceID, BundleFile, TraceFile)
	return b.String()
}

// num writes a score as the trace's JSON writes it.
func num(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }

// longestRun is the length of the longest run of c in s.
func longestRun(s string, c byte) int {
	best, n := 0, 0
	for i := 0; i < len(s); i++ {
		if s[i] == c {
			n++
			best = max(best, n)
		} else {
			n = 0
		}
	}
	return best
}
