package main

import (
	"fmt"
	"runtime/debug"
	"strings"

	"github.com/urfave/cli/v2"
)

// buildInfo is what the binary knows of its own build: the module version
// (a tag, a pseudo-version, or "(devel)") and the commit it was built from.
type buildInfo struct {
	Module   string `json:"module"`
	Version  string `json:"version"`
	Commit   string `json:"commit,omitempty"`
	Time     string `json:"commit_time,omitempty"`
	Modified bool   `json:"modified"`
	Go       string `json:"go"`
}

// readBuildInfo reads the build information Go stamps into the binary:
// `go install module@version` records the version, `go build` in a git
// checkout the commit (vcs.revision).
func readBuildInfo() buildInfo {
	bi := buildInfo{Module: "github.com/hive-dev/hive", Version: "(unknown)"}
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return bi
	}
	bi.Go = info.GoVersion
	if info.Main.Path != "" {
		bi.Module = info.Main.Path
	}
	if info.Main.Version != "" {
		bi.Version = info.Main.Version
	}
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			bi.Commit = s.Value
		case "vcs.time":
			bi.Time = s.Value
		case "vcs.modified":
			bi.Modified = s.Value == "true"
		}
	}
	return bi
}

// String is the one line `hive --version` prints.
func (bi buildInfo) String() string {
	var extra []string
	if bi.Commit != "" {
		c := "commit " + bi.Commit
		if bi.Modified {
			c += " with local changes"
		}
		extra = append(extra, c)
	}
	if bi.Time != "" {
		extra = append(extra, bi.Time)
	}
	if bi.Go != "" {
		extra = append(extra, bi.Go)
	}
	s := "hive " + bi.Version
	if len(extra) > 0 {
		s += " (" + strings.Join(extra, ", ") + ")"
	}
	return s
}

func versionCommand() *cli.Command {
	return &cli.Command{
		Name:  "version",
		Usage: "print hive's version and the commit it was built from",
		Flags: []cli.Flag{jsonFlag},
		Action: func(c *cli.Context) error {
			if c.NArg() > 0 {
				return usagef("version takes no arguments")
			}
			bi := readBuildInfo()
			if c.Bool("json") {
				return printJSON(c.App.Writer, bi)
			}
			fmt.Fprintln(c.App.Writer, bi)
			return nil
		},
	}
}
