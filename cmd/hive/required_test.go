package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/urfave/cli/v2"
)

// TestRequiredFlags: every command with a required flag, called without
// it (with an argument or without), is a usage error of one line that
// names the command and the flag, and prints no help.
func TestRequiredFlags(t *testing.T) {
	type required struct {
		path  []string
		flags []string
	}
	var all []required
	var walk func(path []string, cmds []*cli.Command)
	walk = func(path []string, cmds []*cli.Command) {
		for _, c := range cmds {
			p := append(append([]string(nil), path...), c.Name)
			var flags []string
			for _, f := range c.Flags {
				if rf, ok := f.(cli.RequiredFlag); ok && rf.IsRequired() {
					flags = append(flags, "--"+f.Names()[0])
				}
			}
			if flags != nil {
				all = append(all, required{p, flags})
			}
			walk(p, c.Subcommands)
		}
	}
	walk(nil, commands())
	if len(all) < 5 {
		t.Fatalf("%d commands with required flags, want at least 5 (keygen, key add, key revoke, dispute open, dispute resolve)", len(all))
	}
	for _, r := range all {
		name := "hive " + strings.Join(r.path, " ")
		for _, extra := range [][]string{nil, {"f1fa4d3b"}} {
			args := append(append([]string{"hive", "--repo", t.TempDir()}, r.path...), extra...)
			var stdout, stderr bytes.Buffer
			code := run(args, strings.NewReader(""), &stdout, &stderr)
			want := "hive: error: " + name + " needs " + strings.Join(r.flags, " and ") + "; see " + name + " --help\n"
			if code != exitUsage || stdout.Len() != 0 || stderr.String() != want {
				t.Errorf("%s: exit %d, stdout %q, stderr %q; want exit 2, no stdout, stderr %q", strings.Join(args[3:], " "), code, stdout.String(), stderr.String(), want)
			}
		}
		// with one of them, the others are still named
		if len(r.flags) > 1 {
			args := append(append([]string{"hive", "--repo", t.TempDir()}, r.path...), r.flags[0], "x")
			var stdout, stderr bytes.Buffer
			code := run(args, strings.NewReader(""), &stdout, &stderr)
			want := "hive: error: " + name + " needs " + strings.Join(r.flags[1:], " and ") + "; see " + name + " --help\n"
			if code != exitUsage || stderr.String() != want {
				t.Errorf("%s: exit %d, stderr %q; want exit 2, %q", strings.Join(args[3:], " "), code, stderr.String(), want)
			}
		}
	}
}

// TestHelpOrder: hive --help lists the commands in the order of use, with
// version, completion and help, the commands about hive itself, last.
func TestHelpOrder(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := run([]string{"hive", "--help"}, strings.NewReader(""), &stdout, &stderr); code != exitOK {
		t.Fatalf("hive --help: exit %d: %s", code, stderr.String())
	}
	_, list, _ := strings.Cut(stdout.String(), "COMMANDS:\n")
	list, _, _ = strings.Cut(list, "\n\n")
	var names []string
	for _, line := range strings.Split(list, "\n") {
		if f := strings.Fields(line); len(f) > 0 {
			names = append(names, strings.TrimSuffix(f[0], ","))
		}
	}
	if n := len(names); n < 4 || strings.Join(names[n-3:], " ") != "version completion help" {
		t.Fatalf("hive --help lists %v; want version, completion and help last", names)
	}
	pos := map[string]int{}
	for i, n := range names {
		pos[n] = i
	}
	for _, pair := range [][2]string{{"init", "add"}, {"search", "outcome"}, {"outcome", "outcomes"}, {"outcomes", "reputation"}} {
		if pos[pair[0]] > pos[pair[1]] {
			t.Errorf("hive --help lists %s after %s: %v", pair[0], pair[1], names)
		}
	}
}
