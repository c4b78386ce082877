package main

import (
	"os/exec"
	"strings"
	"testing"
)

// TestDependencyDirection keeps the packages' one-way dependencies true:
// schema and signing know nothing of git or of each other, lineage does not
// reach into the registry, and only cmd imports everything.
func TestDependencyDirection(t *testing.T) {
	const mod = "github.com/hive-dev/hive/"
	tests := []struct {
		pkg       string
		forbidden []string
	}{
		{"schema", []string{"github.com/go-git/", mod + "signing", mod + "registry", mod + "lineage", mod + "fixtures", mod + "cmd"}},
		{"signing", []string{"github.com/go-git/", mod + "schema", mod + "registry", mod + "lineage", mod + "fixtures", mod + "cmd"}},
		{"lineage", []string{"github.com/go-git/", mod + "registry", mod + "signing", mod + "fixtures", mod + "cmd"}},
		{"gitfmt", []string{mod + "odb", mod + "registry", mod + "schema", mod + "signing", mod + "fixtures", mod + "cmd"}},
		{"odb", []string{mod + "registry", mod + "schema", mod + "signing", mod + "search", mod + "fixtures", mod + "cmd"}},
		{"registry", []string{mod + "fixtures", mod + "cmd", mod + "search"}},
		{"search", []string{mod + "fixtures", mod + "cmd"}},
		{"client", []string{mod + "fixtures", mod + "cmd", mod + "server", mod + "mcp", mod + "search", mod + "trust"}},
		{"reuse", []string{mod + "fixtures", mod + "cmd", mod + "server", mod + "mcp", mod + "agentskills"}},
		{"agentskills", []string{mod + "fixtures", mod + "cmd", mod + "server", mod + "mcp", mod + "client"}},
		{"mcp", []string{mod + "fixtures", mod + "cmd", mod + "server", mod + "agentskills"}},
		{"tokens", []string{"github.com/go-git/", mod + "registry", mod + "server", mod + "fixtures", mod + "cmd"}},
		{"hooks", []string{mod + "server", mod + "search", mod + "fixtures", mod + "cmd"}},
		{"server", []string{mod + "fixtures", mod + "cmd"}},
		{"workflow", []string{"github.com/go-git/", mod + "registry", mod + "schema", mod + "signing", mod + "fixtures", mod + "cmd"}},
	}
	for _, tt := range tests {
		t.Run(tt.pkg, func(t *testing.T) {
			out, err := exec.Command("go", "list", "-deps", mod+tt.pkg).Output()
			if err != nil {
				t.Fatalf("go list -deps %s: %v", tt.pkg, err)
			}
			for _, dep := range strings.Fields(string(out)) {
				for _, f := range tt.forbidden {
					if strings.HasPrefix(dep, f) {
						t.Errorf("%s depends on %s", tt.pkg, dep)
					}
				}
			}
		})
	}
}

// TestCodecsDoNoIO: gitfmt, the codecs of git's formats, imports nothing
// that reaches files, processes or the network (its dependencies may:
// fmt imports os), so that every function of it is pure.
func TestCodecsDoNoIO(t *testing.T) {
	out, err := exec.Command("go", "list", "-f", `{{join .Imports "\n"}}`, "github.com/hive-dev/hive/gitfmt").Output()
	if err != nil {
		t.Fatalf("go list gitfmt: %v", err)
	}
	for _, imp := range strings.Fields(string(out)) {
		switch imp {
		case "os", "os/exec", "io/fs", "io/ioutil", "syscall", "net", "net/http", "path/filepath", "golang.org/x/sys/unix":
			t.Errorf("gitfmt imports %s", imp)
		}
	}
}
