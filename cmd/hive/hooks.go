package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/urfave/cli/v2"

	"github.com/hive-dev/hive/hooks"
	"github.com/hive-dev/hive/internal/plural"
	"github.com/hive-dev/hive/registry"
)

func hooksCommand() *cli.Command {
	return &cli.Command{
		Name:  "hooks",
		Usage: "install git hooks that run the validator",
		Subcommands: []*cli.Command{{
			Name:  "install",
			Usage: "install pre-push (a working hive) or pre-receive (a bare hub) so that plain git push is gated",
			Flags: []cli.Flag{&cli.BoolFlag{Name: "force", Usage: "replace a hook that is not hive's"}},
			Action: func(c *cli.Context) error {
				s, err := openStore(c)
				if err != nil {
					return err
				}
				defer s.Close()
				exe, err := os.Executable()
				if err != nil {
					return err
				}
				p, err := hooks.Install(s.GitDir(), hooks.Hook(s), exe, c.Bool("force"))
				if errors.Is(err, hooks.ErrNotOurs) {
					return &hintError{err, "move it aside, or pass --force to replace it"}
				}
				if err != nil {
					return err
				}
				fmt.Fprintf(c.App.Writer, "installed %s\n", p)
				return nil
			},
		}},
	}
}

// hookCommand runs inside git hooks (hive hooks install and hive serve
// write them).
func hookCommand() *cli.Command {
	return &cli.Command{
		Name:   "hook",
		Hidden: true,
		Subcommands: []*cli.Command{{
			Name:  hooks.PreReceive,
			Usage: "gate a push to a bare hive (reads git's old new ref lines)",
			Flags: []cli.Flag{&cli.BoolFlag{Name: "served", Usage: "hive serve's hook: the pusher is named in the environment"}},
			Action: func(c *cli.Context) error {
				var w *registry.Writer
				if c.Bool("served") {
					var err error
					if w, err = hooks.ServedWriter(os.Getenv); err != nil {
						return fmt.Errorf("push refused by hive: %w; nothing was changed", err)
					}
				}
				updates, err := hooks.ReadUpdates(c.App.Reader)
				if err != nil {
					return err
				}
				gitDir := os.Getenv("GIT_DIR")
				if gitDir == "" {
					gitDir = "."
				}
				rep, err := hooks.Gate(c.Context, gitDir, os.Getenv("GIT_QUARANTINE_PATH"), updates, w)
				if err != nil {
					return err
				}
				if printReport(c.App.ErrWriter, rep); rep.Err() != nil || rep.Omitted > 0 {
					return fmt.Errorf("push refused by hive: %s; nothing was changed", plural.N(len(rep.Violations)+rep.Omitted, "violation"))
				}
				fmt.Fprintf(c.App.ErrWriter, "hive: %s\n", hooks.Summary(updates, rep))
				return nil
			},
		}, {
			Name:  hooks.PrePush,
			Usage: "verify what a working hive pushes (reads git's pre-push lines)",
			Action: func(c *cli.Context) error {
				s, err := openStore(c)
				if err != nil {
					return err
				}
				defer s.Close()
				rep, err := hooks.VerifyPush(c.Context, s, c.App.Reader)
				if err != nil {
					return err
				}
				if printReport(c.App.ErrWriter, rep); rep.Err() != nil {
					return fmt.Errorf("push refused by hive: %s", plural.N(len(rep.Violations)+rep.Omitted, "violation"))
				}
				return nil
			},
		}},
	}
}
