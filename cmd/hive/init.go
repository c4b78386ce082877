package main

import (
	"errors"
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/hive-dev/hive/registry"
	"github.com/hive-dev/hive/workflow"
)

func initCommand() *cli.Command {
	return &cli.Command{
		Name:      "init",
		Usage:     "create a hive: a git repository with hive.json on branch main",
		ArgsUsage: "[DIR]",
		Description: "With --github, the hive's first commit also holds " + registry.WorkflowPath + ",\n" +
			"the pull-request gate GitHub Actions runs (docs/sync.md). In an existing hive, --github with\n" +
			"--instance MAINTAINER adds or updates that workflow in a commit the maintainer signs.",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "name", Usage: "the hive's name (default: the folder's name)"},
			&cli.StringSliceFlag{Name: "maintainer", Usage: "an instance allowed to change hive.json (repeatable)"},
			&cli.BoolFlag{Name: "bare", Usage: "create a bare repository (for a shared hub)"},
			&cli.BoolFlag{Name: "github", Usage: "write the pull-request workflow " + registry.WorkflowPath},
			&cli.StringFlag{Name: "instance", Usage: "with --github in an existing hive: the maintainer who signs the workflow"},
			&cli.StringFlag{Name: "registration", Value: registry.RegistrationOpen, Usage: "who may register a new instance's key: open, or maintainers (with a maintainer's approval)"},
		},
		Action: func(c *cli.Context) error {
			if c.NArg() > 1 {
				return usagef("init takes at most one folder")
			}
			dir := c.Args().First()
			if c.NArg() == 1 && dir == "" {
				return usagef("init: the folder's name is empty; name one, or give none for the current folder")
			}
			if dir == "" {
				dir = c.String("repo")
			}
			if r := c.String("registration"); r != registry.RegistrationOpen && r != registry.RegistrationMaintainers {
				return usagef("--registration %q: want open or maintainers", r)
			}
			var wf []byte
			if c.Bool("github") {
				wf = workflow.Bytes(workflow.Version(readBuildInfo().Version))
			}
			if c.IsSet("instance") {
				if !c.Bool("github") {
					return usagef("--instance goes with --github, in an existing hive")
				}
				return setWorkflow(c, dir, wf)
			}
			s, err := registry.Init(dir, registry.InitOptions{Name: c.String("name"), Maintainers: c.StringSlice("maintainer"), Bare: c.Bool("bare"), Workflow: wf,
				Registration: c.String("registration")})
			if errors.Is(err, registry.ErrExists) && c.Bool("github") {
				return &hintError{err, "to add the workflow to an existing hive, a maintainer runs `hive init --github --instance ID " + dir + "`"}
			}
			if err != nil {
				return err
			}
			defer s.Close()
			head, _ := s.Head()
			fmt.Fprintf(c.App.Writer, "initialised hive in %s (main at %s)\n", dir, head.String()[:12])
			if wf != nil {
				fmt.Fprintf(c.App.Writer, "wrote %s: push the hive to GitHub and pull requests into main are verified\n", registry.WorkflowPath)
			}
			return nil
		},
	}
}

// setWorkflow adds or updates the workflow of the existing hive in dir, in
// a commit signed by the maintainer --instance.
func setWorkflow(c *cli.Context, dir string, wf []byte) error {
	s, err := registry.Open(dir)
	if err != nil {
		return err
	}
	defer s.Close()
	inst := c.String("instance")
	ks, err := keyStore(c)
	if err != nil {
		return err
	}
	key, err := ks.Load(inst)
	if err != nil {
		return err
	}
	commit, err := s.SetWorkflow(wf, inst, key)
	if err != nil {
		return err
	}
	fmt.Fprintf(c.App.Writer, "wrote %s, signed by %s, in commit %s\n", registry.WorkflowPath, inst, commit.String()[:12])
	return nil
}
