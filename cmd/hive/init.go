package main

import (
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/hive-dev/hive/registry"
)

func initCommand() *cli.Command {
	return &cli.Command{
		Name:      "init",
		Usage:     "create a hive: a git repository with hive.json on branch main",
		ArgsUsage: "[DIR]",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "name", Usage: "the hive's name (default: the folder's name)"},
			&cli.StringSliceFlag{Name: "maintainer", Usage: "an instance allowed to change hive.json (repeatable)"},
			&cli.BoolFlag{Name: "bare", Usage: "create a bare repository (for a shared hub)"},
			&cli.StringFlag{Name: "registration", Value: registry.RegistrationOpen, Usage: "who may register a new instance's key: open, or maintainers (with a maintainer's approval)"},
		},
		Action: func(c *cli.Context) error {
			if c.NArg() > 1 {
				return usagef("init takes at most one folder")
			}
			dir := c.Args().First()
			if dir == "" {
				dir = c.String("repo")
			}
			if r := c.String("registration"); r != registry.RegistrationOpen && r != registry.RegistrationMaintainers {
				return usagef("--registration %q: want open or maintainers", r)
			}
			s, err := registry.Init(dir, registry.InitOptions{Name: c.String("name"), Maintainers: c.StringSlice("maintainer"), Bare: c.Bool("bare"),
				Registration: c.String("registration")})
			if err != nil {
				return err
			}
			defer s.Close()
			head, _ := s.Head()
			fmt.Fprintf(c.App.Writer, "initialised hive in %s (main at %s)\n", dir, head.String()[:12])
			return nil
		},
	}
}
