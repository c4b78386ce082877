package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/schollz/progressbar/v3"
	"github.com/urfave/cli/v2"
	"golang.org/x/term"

	"github.com/hive-dev/hive/internal/plural"
	"github.com/hive-dev/hive/registry"
	"github.com/hive-dev/hive/schema"
	"github.com/hive-dev/hive/search"
)

// progress returns a progress callback drawing a bar on stderr when it is a
// terminal, and nil (no bar) otherwise.
func progress(c *cli.Context, what string) (func(done, total int), func()) {
	f, ok := c.App.ErrWriter.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return nil, func() {}
	}
	var bar *progressbar.ProgressBar
	return func(done, total int) {
			if total < 100 {
				return
			}
			if bar == nil {
				bar = progressbar.NewOptions(total, progressbar.OptionSetWriter(f), progressbar.OptionSetDescription(what),
					progressbar.OptionShowCount(), progressbar.OptionThrottle(100e6), progressbar.OptionClearOnFinish())
			}
			bar.Set(done)
		}, func() {
			if bar != nil {
				bar.Finish()
			}
		}
}

// printReport prints a refused report's violations, one a line.
func printReport(w io.Writer, r *registry.Report) {
	if r == nil {
		return
	}
	for _, v := range r.Violations {
		fmt.Fprintln(w, v.Error())
	}
	if r.Omitted > 0 {
		fmt.Fprintf(w, "... and %s\n", plural.N(r.Omitted, "more violation"))
	}
}

// openRemote opens the hive and resolves the remote named by the first
// argument (origin by default).
func openRemote(c *cli.Context) (*registry.Store, registry.Remote, error) {
	s, err := openStore(c)
	if err != nil {
		return nil, registry.Remote{}, err
	}
	r, err := s.ResolveRemote(c.Args().First())
	if err != nil {
		s.Close()
		return nil, registry.Remote{}, err
	}
	useCredentials(s.Dir(), r.URL)
	return s, r, nil
}

func cloneCommand() *cli.Command {
	return &cli.Command{
		Name:      "clone",
		Usage:     "clone a hive and verify its whole history before it is used",
		ArgsUsage: "URL [DIR]",
		Action: func(c *cli.Context) error {
			if c.NArg() < 1 || c.NArg() > 2 {
				return usagef("clone takes a URL and an optional folder")
			}
			url, dir := c.Args().Get(0), c.Args().Get(1)
			if dir == "" {
				dir = strings.TrimSuffix(filepath.Base(strings.TrimRight(url, "/")), ".git")
			}
			walkGC()
			useCredentials(".", url)
			bar, done := progress(c, "verifying")
			s, rep, err := registry.CloneContext(c.Context, url, dir, bar)
			done()
			if errors.Is(err, registry.ErrRefused) {
				printReport(c.App.Writer, rep)
				return fmt.Errorf("%s does not verify: %s; nothing was cloned", shownURL(url), plural.N(len(rep.Violations)+rep.Omitted, "violation"))
			}
			if err != nil {
				return remoteHint(err)
			}
			defer s.Close()
			head, _ := s.Head()
			fmt.Fprintf(c.App.Writer, "cloned %s into %s: %s, %s verified, main at %s\n", shownURL(url), dir, plural.N(rep.Commits, "commit"), plural.N(rep.Traces, "trace"), head.String()[:12])
			return nil
		},
	}
}

func pullCommand() *cli.Command {
	return &cli.Command{
		Name:      "pull",
		Usage:     "fetch another hive's main, verify what it adds, then fast-forward or merge",
		ArgsUsage: "[REMOTE|URL]",
		Description: "With --intent, only the remote's valid skills whose intent matches are imported (with the\n" +
			"skills they derive from and their instances' keys), as local commits; the rest is skipped.",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "intent", Usage: "import only skills matching this intent"},
			&cli.Float64Flag{Name: "threshold", Value: search.DefaultThreshold, Usage: "with --intent: the least similarity, in [0,1]"},
			&cli.Float64Flag{Name: "min-confidence", Usage: "with --intent: the least confidence"},
			&cli.StringFlag{Name: "instance", Usage: "with --intent: only skills of this instance"},
			jsonFlag,
		},
		Action: func(c *cli.Context) error {
			if c.NArg() > 1 {
				return usagef("pull takes one remote")
			}
			if th := c.Float64("threshold"); th < 0 || th > 1 {
				return usagef("--threshold must lie in [0,1]")
			}
			walkGC()
			s, r, err := openRemote(c)
			if err != nil {
				return err
			}
			defer s.Close()
			if c.IsSet("intent") {
				return subscribe(c, s, r)
			}
			bar, done := progress(c, "verifying")
			res, err := s.PullContext(c.Context, r, bar)
			done()
			if errors.Is(err, registry.ErrRefused) {
				printReport(c.App.Writer, res.Report)
				return fmt.Errorf("pull from %s refused: %s; main, the index and the working tree are unchanged", shownURL(r.URL), plural.N(len(res.Report.Violations)+res.Report.Omitted, "violation"))
			}
			if errors.Is(err, registry.ErrMergeConflict) {
				return &hintError{err, "nothing was changed; merge by hand with git (`git fetch " + copyableURL(r.URL) + " main && git merge FETCH_HEAD`), then run `hive verify`"}
			}
			if err != nil {
				return remoteHint(err)
			}
			maintain(c, s)
			if c.Bool("json") {
				return printJSON(c.App.Writer, map[string]any{"remote": shownURL(r.URL), "old": res.Old.String(), "new": res.New.String(),
					"merged": res.Merged, "traces_added": res.Added, "commits_checked": res.Report.Commits, "traces_checked": res.Report.Traces})
			}
			switch {
			case res.New == res.Old:
				fmt.Fprintf(c.App.Writer, "already up to date with %s\n", shownURL(r.URL))
			case res.Merged:
				fmt.Fprintf(c.App.Writer, "merged %s: %s (%s, %s checked), main at %s\n", shownURL(r.URL), plural.N(res.Added, "new trace"), plural.N(res.Report.Commits, "commit"), plural.N(res.Report.Traces, "trace"), res.New.String()[:12])
			default:
				fmt.Fprintf(c.App.Writer, "fast-forwarded to %s: %s (%s, %s checked)\n", res.New.String()[:12], plural.N(res.Added, "new trace"), plural.N(res.Report.Commits, "commit"), plural.N(res.Report.Traces, "trace"))
			}
			return nil
		},
	}
}

// subscribe imports the remote's skills that match --intent.
func subscribe(c *cli.Context, s *registry.Store, r registry.Remote) error {
	match, err := search.Matcher(search.Subscription{Intent: c.String("intent"), Threshold: c.Float64("threshold"),
		MinConfidence: c.Float64("min-confidence"), Instance: c.String("instance")})
	if errors.Is(err, search.ErrNoWords) {
		return usagef("--intent has no words to match")
	}
	if err != nil {
		return err
	}
	res, err := s.PullMatchingContext(c.Context, r, match)
	if err != nil {
		return remoteHint(err)
	}
	if c.Bool("json") {
		res.Remote.URL = shownURL(res.Remote.URL)
		return printJSON(c.App.Writer, res)
	}
	w := c.App.Writer
	for _, a := range res.Imported {
		fmt.Fprintf(w, "imported %s (commit %s)\n", a.ID, a.Commit.String()[:12])
	}
	for _, k := range res.Keys {
		fmt.Fprintf(w, "registered key of %s\n", k)
	}
	for _, sk := range res.Skipped {
		fmt.Fprintf(w, "skipped  %s %s: %s\n", sk.ID, schema.Quote(sk.Intent, 50), sk.Reason)
	}
	fmt.Fprintf(w, "%d imported, %d already here, %d skipped, %d did not match %s\n", len(res.Imported), res.Present, len(res.Skipped), res.Unmatched, schema.Quote(c.String("intent"), 60))
	if len(res.Imported) == 0 && res.Present == 0 {
		return &silentError{fmt.Errorf("no skill imported")}
	}
	return nil
}

func pushCommand() *cli.Command {
	return &cli.Command{
		Name:      "push",
		Usage:     "verify main, then push it to another hive's main",
		ArgsUsage: "[REMOTE|URL]",
		Action: func(c *cli.Context) error {
			if c.NArg() > 1 {
				return usagef("push takes one remote")
			}
			s, r, err := openRemote(c)
			if err != nil {
				return err
			}
			defer s.Close()
			head, err := s.Push(r, c.App.ErrWriter)
			if errors.Is(err, registry.ErrNonFastForward) {
				pull := "hive"
				if repo := c.String("repo"); repo != "" {
					pull += " --repo " + repo
				}
				pull += " pull"
				if a := c.Args().First(); a != "" {
					pull += " " + a
				}
				return &hintError{err, fmt.Sprintf("run `%s` to merge its skills, then push again", pull)}
			}
			if err != nil {
				return remoteHint(err)
			}
			fmt.Fprintf(c.App.Writer, "pushed main (%s) to %s\n", head.String()[:12], shownURL(r.URL))
			return nil
		},
	}
}

func submitCommand() *cli.Command {
	return &cli.Command{
		Name:      "submit",
		Usage:     "push the skills the remote lacks to a branch hive/<instance>/<skill>, for a pull request",
		ArgsUsage: "[REMOTE|URL]",
		Action: func(c *cli.Context) error {
			if c.NArg() > 1 {
				return usagef("submit takes one remote")
			}
			s, r, err := openRemote(c)
			if err != nil {
				return err
			}
			defer s.Close()
			sub, err := s.Submit(r, c.App.ErrWriter)
			if errors.Is(err, registry.ErrNotFound) && sub != nil {
				return &hintError{err, "submit proposes, for review, the skills that the remote's main lacks; " +
					"it has them all (a `hive push` already put them there), so there is nothing to review"}
			}
			if err != nil {
				return remoteHint(err)
			}
			w := c.App.Writer
			fmt.Fprintf(w, "pushed branch %s to %s\n\n", sub.Branch, shownURL(r.URL))
			fmt.Fprintf(w, "Pull request: %s -> main\n", sub.Branch)
			fmt.Fprintf(w, "Skills it adds (%d):\n", len(sub.Traces))
			for _, e := range sub.Traces {
				fmt.Fprintf(w, "  %s  %s  %s\n", e.ID, e.Trace.InstanceID, e.Trace.Intent)
			}
			fmt.Fprintf(w, "\nTo review it, a maintainer runs:\n  git fetch %s %s\n  hive verify --base %s --head FETCH_HEAD\n", copyableURL(r.URL), sub.Branch, sub.Base.String()[:12])
			if u := compareURL(r.URL, sub.Branch); u != "" {
				fmt.Fprintf(w, "Open it at: %s\n", u)
			}
			return nil
		},
	}
}

// compareURL is the page to open a pull request on GitHub, for GitHub URLs.
func compareURL(url, branch string) string {
	u := strings.TrimSuffix(url, ".git")
	switch {
	case strings.HasPrefix(u, "git@github.com:"):
		u = "https://github.com/" + strings.TrimPrefix(u, "git@github.com:")
	case strings.HasPrefix(u, "https://github.com/"):
	default:
		return ""
	}
	return u + "/compare/main..." + branch + "?expand=1"
}
