// Command hive keeps a hive: a git repository of signed, content-addressed
// skills (traces) that agent instances share by ordinary git.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"syscall"

	"github.com/urfave/cli/v2"

	"github.com/hive-dev/hive/registry"
)

func main() { os.Exit(run(os.Args, os.Stdin, os.Stdout, os.Stderr)) }

// Exit codes.
const (
	exitOK       = 0
	exitNegative = 1 // invalid, not found, refused
	exitUsage    = 2
)

// usageError is a mistake in how the command was called.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return &usageError{fmt.Sprintf(format, args...)} }

// hintError carries a hint for the user beside the error.
type hintError struct {
	err  error
	hint string
}

func (e *hintError) Error() string { return e.err.Error() }
func (e *hintError) Unwrap() error { return e.err }

// silentError is a negative answer already reported on stdout.
type silentError struct{ err error }

func (e *silentError) Error() string { return e.err.Error() }

// unregistered finds the instance of a sig-key-unknown error.
var unregistered = regexp.MustCompile(`no key registered for instance ([a-z0-9][a-z0-9_-]*)`)

func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if v, ok := os.LookupEnv("HIVE_REPO"); ok && v == "" {
		os.Unsetenv("HIVE_REPO") // HIVE_REPO= clears it, as for other variables; an empty --repo is an error
	}
	app := newApp(stdin, stdout, stderr)
	// Ctrl-C or SIGTERM stops a verification, pull, clone or add cleanly:
	// its quarantine ref and half-made clone are removed, main is not moved.
	// A second one ends hive at once, as it ends any command that does not
	// stop by itself: every write survives being killed at any point
	// (docs/format.md §9.2, §9.7), and the next writer repairs what is left.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		stop() // the signals' default action again
	}()
	err := app.RunContext(ctx, interspersed(app, args))
	if err == nil {
		return exitOK
	}
	if ctx.Err() != nil && errors.Is(err, context.Canceled) {
		err = fmt.Errorf("interrupted: %w", err)
	}
	var se *silentError
	if errors.As(err, &se) {
		return exitNegative
	}
	var ue *usageError
	var nh *noHiveError
	code := exitNegative
	if errors.As(err, &ue) || errors.As(err, &nh) {
		code = exitUsage
	}
	for _, line := range errorLines(err) {
		fmt.Fprintf(stderr, "hive: error: %s\n", line)
	}
	var he *hintError
	if errors.As(err, &he) {
		fmt.Fprintf(stderr, "hive: hint: %s\n", shownURL(he.hint))
	} else if m := unregistered.FindStringSubmatch(err.Error()); m != nil {
		fmt.Fprintf(stderr, "hive: hint: register the instance's key in the hive first: hive key add --instance %s\n", m[1])
	}
	var we *registry.WorktreeError
	if errors.As(err, &we) {
		fmt.Fprintf(stderr, "hive: hint: run `git checkout -f main` to bring the working tree up to date\n")
	}
	return code
}

// errorLines is an error as it is printed: a line each, any token in a
// URL masked (messages from every layer name remotes, and none may print
// the secret), and without the ": " a layer added before a reason it did
// not have (go-git's "authentication required: " for a bare 401).
func errorLines(err error) []string {
	lines := strings.Split(strings.TrimRight(shownURL(err.Error()), "\n"), "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRight(l, ": ")
	}
	return lines
}

func newApp(stdin io.Reader, stdout, stderr io.Writer) *cli.App {
	cli.VersionPrinter = func(c *cli.Context) { fmt.Fprintln(c.App.Writer, readBuildInfo()) }
	onUsage := func(c *cli.Context, err error, isSubcommand bool) error {
		return usagef("%v", err)
	}
	app := &cli.App{
		Name:                 "hive",
		Usage:                "share verified agent skills through git",
		Reader:               stdin,
		Writer:               stdout,
		ErrWriter:            stderr,
		Version:              readBuildInfo().Version,
		EnableBashCompletion: true,
		HideHelpCommand:      true, // helpCommand instead; with it urfave/cli adds no --help flag, so:
		OnUsageError:         onUsage,
		ExitErrHandler:       func(*cli.Context, error) {},
		Before: func(c *cli.Context) error {
			if c.IsSet("repo") && c.String("repo") == "" {
				return usagef("--repo is empty: name the hive's folder, or leave --repo out for the hive the current folder is in")
			}
			return nil
		},
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "repo", Value: ".", Usage: "the hive's folder", EnvVars: []string{"HIVE_REPO"}},
			&cli.StringFlag{Name: "key-dir", Usage: "where private keys are kept (default: $HIVE_KEY_DIR, else the user's config dir)"},
			cli.HelpFlag,
		},
		Commands: commands(),
	}
	var setUsage func(cmds []*cli.Command)
	setUsage = func(cmds []*cli.Command) {
		for _, c := range cmds {
			c.OnUsageError = onUsage
			c.HideHelpCommand = true // otherwise "hive init h" shows help instead of making h
			requireFlags(c)
			if len(c.Subcommands) > 0 && c.Action == nil {
				c.Action = groupAction
			}
			setUsage(c.Subcommands)
		}
	}
	setUsage(app.Commands)
	app.CommandNotFound = func(c *cli.Context, name string) {
		fmt.Fprintf(stderr, "hive: error: no command %q; see hive --help\n", name)
		os.Exit(exitUsage)
	}
	return app
}

// commands are hive's commands, as the help lists them.
func commands() []*cli.Command {
	return []*cli.Command{
		initCommand(), keygenCommand(), keyCommand(), addCommand(), showCommand(),
		verifyCommand(), lineageCommand(), exportCommand(), importCommand(), instancesCommand(),
		cloneCommand(), pullCommand(), pushCommand(), submitCommand(), hooksCommand(), hookCommand(), serveCommand(), disputeCommand(),
		searchCommand(), resolveCommand(), outcomeCommand(), outcomesCommand(), reputationCommand(), diffCommand(),
		mcpCommand(), skillCommand(), installCommand(), publishCommand(),
		versionCommand(), completionCommand(), helpCommand(),
	}
}

// groupAction is the action of a command that only groups others (hive
// key, hive dispute): its help, or a usage error for an unknown one.
func groupAction(c *cli.Context) error {
	if c.Args().Present() {
		name := commandPath(c)
		return usagef("no command %q in %s; see %s --help", c.Args().First(), name, name)
	}
	return cli.ShowSubcommandHelp(c)
}

// commandPath is the command c runs, as typed: "hive dispute open".
func commandPath(c *cli.Context) string {
	var names []string
	for _, cc := range c.Lineage() {
		if cc.Command != nil && cc.Command.Name != "" {
			names = append(names, cc.Command.Name)
		}
	}
	slices.Reverse(names)
	return strings.Join(names, " ")
}

// requireFlags has c check its required flags itself, in place of
// urfave/cli: that prints the whole help to stdout, then an error in its
// own words, and exits 1; and given an argument it takes the argument for
// the name of a command to show help for ("no command"). The check is a
// usage error naming the command and the flags missing. The flags are
// copied, not changed: some are shared by several commands.
func requireFlags(c *cli.Command) {
	var required []string
	for i, f := range c.Flags {
		rf, ok := f.(cli.RequiredFlag)
		if !ok || !rf.IsRequired() {
			continue
		}
		required = append(required, f.Names()[0])
		v := reflect.ValueOf(f).Elem()
		cp := reflect.New(v.Type())
		cp.Elem().Set(v)
		cp.Elem().FieldByName("Required").SetBool(false)
		c.Flags[i] = cp.Interface().(cli.Flag)
	}
	if len(required) == 0 || c.Action == nil {
		return
	}
	action := c.Action
	c.Action = func(ctx *cli.Context) error {
		var missing []string
		for _, name := range required {
			if !ctx.IsSet(name) {
				missing = append(missing, "--"+name)
			}
		}
		if len(missing) > 0 {
			name := commandPath(ctx)
			return usagef("%s needs %s; see %s --help", name, strings.Join(missing, " and "), name)
		}
		return action(ctx)
	}
}
