package server_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// The browser tests drive Debian's chromium (chromedp, headless) through
// every page kind at 1280 and 390 pixels wide, check what each shows,
// follow a newcomer's path (search, a skill, its parent, its instance),
// and fail on any console error, uncaught exception or dialog. They write
// a screenshot of each page under $HIVE_ARTEFACTS (default .artefacts/ at
// the module's root). `make test` installs chromium when it is missing;
// without it the test fails, it does not skip.

// chromiumPath finds the browser: $HIVE_CHROMIUM, else chromium on PATH.
func chromiumPath(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("HIVE_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Fatal("no chromium: install it (`make test` does: apt-get install -y chromium) or set HIVE_CHROMIUM")
	return ""
}

// artefacts is the folder for the screenshots.
func artefacts(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("HIVE_ARTEFACTS")
	if dir == "" {
		dir = filepath.Join("..", ".artefacts")
	}
	dir = filepath.Join(dir, "browser")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// browser is a headless chromium with its console and dialogs watched.
type browser struct {
	ctx      context.Context
	mu       sync.Mutex
	problems []string
}

func newBrowser(t *testing.T) *browser {
	t.Helper()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromiumPath(t)),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.UserDataDir(t.TempDir()),
		// Without these, chromium calls home from the closed network.
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-default-apps", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("metrics-recording-only", true),
		chromedp.Flag("no-pings", true),
		chromedp.Flag("disable-features", "Translate,OptimizationHints,MediaRouter,AutofillServerCommunication,CertificateTransparencyComponentUpdater"),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(actx)
	ctx, cancelTimeout := context.WithTimeout(ctx, 3*time.Minute)
	b := &browser{ctx: ctx}
	t.Cleanup(func() { cancelTimeout(); cancelCtx(); cancelAlloc() })
	if err := chromedp.Listen(ctx, func(ev any) {
		if d, ok := ev.(*page.EventJavascriptDialogOpening); ok {
			b.problem("a dialog opened (script ran): %s %q", d.Type, d.Message)
		}
	}); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	msgs := chromedp.Console(ctx)
	go func() {
		for m, err := range msgs {
			if err != nil {
				return
			}
			switch m.Type {
			case "log", "info", "debug":
			default:
				b.problem("console %s: %s (%s)", m.Type, m.Text, m.URL)
			}
		}
	}()
	return b
}

func (b *browser) problem(format string, args ...any) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.problems = append(b.problems, fmt.Sprintf(format, args...))
}

// check fails the test on every console error or dialog seen so far, but
// the one that says the page itself answered with the error status it
// should (expected, as "status of 404").
func (b *browser) check(t *testing.T, where, expected string) {
	t.Helper()
	time.Sleep(50 * time.Millisecond) // the console's queue is read on another goroutine
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, p := range b.problems {
		if expected != "" && strings.Contains(p, "Failed to load resource: the server responded with a "+expected) && strings.HasSuffix(p, where+")") {
			continue
		}
		t.Errorf("%s: %s", where, p)
	}
	b.problems = nil
}

// visit loads a page and returns its HTTP status.
func (b *browser) visit(t *testing.T, url string) int64 {
	t.Helper()
	resp, err := chromedp.Run(b.ctx, chromedp.NavigateResponse(url))
	if err != nil {
		t.Fatalf("navigate to %s: %v", url, err)
	}
	return resp.Status
}

func run[T any](t *testing.T, b *browser, what string, a chromedp.Action[T]) T {
	t.Helper()
	v, err := chromedp.Run(b.ctx, a)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	return v
}

func count(t *testing.T, b *browser, sel string) int {
	t.Helper()
	return run(t, b, "count "+sel, chromedp.Evaluate[int](fmt.Sprintf("document.querySelectorAll(%q).length", sel)))
}

func text(t *testing.T, b *browser, sel string) string {
	t.Helper()
	return run(t, b, "text of "+sel, chromedp.Evaluate[string](fmt.Sprintf("(document.querySelector(%q) || {}).textContent || ''", sel)))
}

var number = regexp.MustCompile(`^\d\.\d{2,3}$`)

// TestBrowser loads every page kind at two widths and checks what it shows.
func TestBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("the browser tests run in make test, not with -short")
	}
	sc := sharedShowcase(t)
	shots := artefacts(t)
	b := newBrowser(t)
	type pageCase struct {
		name   string
		path   string
		status int64
		check  func(t *testing.T)
	}
	numbers := func(sel string, least int) func(t *testing.T) {
		return func(t *testing.T) {
			cells := run(t, b, "cells "+sel, chromedp.Evaluate[[]string](fmt.Sprintf("Array.from(document.querySelectorAll(%q)).map(e => e.textContent.trim())", sel)))
			if len(cells) < least {
				t.Errorf("%d cells %s, want at least %d", len(cells), sel, least)
			}
			for _, c := range cells {
				if !number.MatchString(c) {
					t.Errorf("cell %s = %q, want a number such as 0.98", sel, c)
				}
			}
		}
	}
	cases := []pageCase{
		{"home", "/", 200, func(t *testing.T) {
			if n := count(t, b, "table.skills tbody tr"); n != 50 {
				t.Errorf("%d rows on the first page, want 50", n)
			}
			numbers("table.skills td.n", 100)(t)
			if n := count(t, b, `nav.pager a[rel="next"]`); n != 1 {
				t.Error("no link to the next page")
			}
			if n := count(t, b, "table.skills .badge.disputed"); n != 1 {
				t.Errorf("%d disputed badges, want 1", n)
			}
		}},
		{"search", "/?q=use+environment+variables+for+auth", 200, func(t *testing.T) {
			if n := count(t, b, "table.skills tbody tr"); n < 2 {
				t.Errorf("%d results, want the skills about env vars", n)
			}
			numbers("table.skills td.score", 2)(t)
		}},
		{"no-match", "/?q=compile+a+kernel+module", 200, func(t *testing.T) {
			if got := text(t, b, ".empty h2"); !strings.Contains(got, "No skill matches") {
				t.Errorf("empty state = %q", got)
			}
		}},
		{"skill", "/web/skills/" + string(sc.child), 200, func(t *testing.T) {
			if n := count(t, b, "svg.lineage g.node"); n != 3 {
				t.Errorf("%d nodes in the lineage graph, want 3 (parent, skill, child)", n)
			}
			if n := count(t, b, "svg.lineage path.edge"); n != 2 {
				t.Errorf("%d edges in the lineage graph, want 2", n)
			}
			root := run(t, b, "root node", chromedp.Evaluate[string]("document.querySelector('svg.lineage g.node.root').dataset.id"))
			if root != string(sc.child) {
				t.Errorf("root node = %s, want %s", root, sc.child)
			}
			if n := count(t, b, `svg.lineage g.node[data-depth="-1"] a, svg.lineage g.node[data-depth="1"] a`); n != 2 {
				t.Errorf("%d linked neighbours in the graph, want 2", n)
			}
			if n := count(t, b, ".diff ins"); n == 0 {
				t.Error("no diff against the parent")
			}
			if got := text(t, b, ".badge.verified"); got != "signature verified" {
				t.Errorf("verified badge = %q", got)
			}
			if got := text(t, b, "pre.cmd"); !strings.Contains(got, "cosign verify-blob") || !strings.Contains(got, "hive verify") {
				t.Errorf("no commands to check the skill: %q", got)
			}
		}},
		{"skill-hostile", "/web/skills/" + string(sc.evil), 200, func(t *testing.T) {
			if got := text(t, b, "h1"); got != evilIntent {
				t.Errorf("h1 = %q, want the hostile intent shown as text", got)
			}
			if got := text(t, b, "pre.result"); got != evilResult {
				t.Errorf("result = %q, want the hostile result shown as text", got)
			}
			if n := count(t, b, "script, img, svg[onload], [onerror]"); n != 0 {
				t.Errorf("%d elements made of hostile text", n)
			}
			if got := text(t, b, ".badges .badge.disputed"); !strings.Contains(got, "disputed") {
				t.Errorf("disputed badge = %q", got)
			}
		}},
		{"instances", "/web/instances", 200, func(t *testing.T) {
			if n := count(t, b, "table.instances tbody tr"); n != 7 { // a, b, c and four maintainers
				t.Errorf("%d instances, want 7", n)
			}
			numbers("table.instances td.n:nth-child(3)", 4)(t)
		}},
		{"instance", "/web/instances/instance_c", 200, func(t *testing.T) {
			if n := count(t, b, "svg.repchart polyline.rep"); n != 1 {
				t.Error("no reputation chart")
			}
			if n := count(t, b, "svg.repchart circle.dot"); n < 2 {
				t.Errorf("%d points in the chart, want a history", n)
			}
			if got := text(t, b, "h1"); got != "instance_c" {
				t.Errorf("h1 = %q", got)
			}
		}},
		{"disputes", "/web/disputes", 200, func(t *testing.T) {
			if n := count(t, b, "table.disputes tbody tr"); n != 3 {
				t.Errorf("%d disputes, want 3", n)
			}
		}},
		{"hive", "/web/hive", 200, func(t *testing.T) {
			if got := text(t, b, "h1"); got != "The hive showcase" {
				t.Errorf("h1 = %q", got)
			}
		}},
		{"not-found", "/no/such/page", 404, func(t *testing.T) {
			if n := count(t, b, `.error a[href="/"]`); n != 1 {
				t.Error("the error page has no way back")
			}
		}},
		{"removed", "/web/skills/" + string(sc.removed), 410, nil},
	}
	for _, width := range []int64{1280, 390} {
		if _, err := chromedp.Run(b.ctx, chromedp.EmulateViewport(width, 900)); err != nil {
			t.Fatal(err)
		}
		for _, pc := range cases {
			t.Run(fmt.Sprintf("%s-%d", pc.name, width), func(t *testing.T) {
				if st := b.visit(t, sc.url+pc.path); st != pc.status {
					t.Errorf("GET %s = %d, want %d", pc.path, st, pc.status)
				}
				if pc.check != nil {
					pc.check(t)
				}
				// Readable at this width: nothing wider than the window but
				// what scrolls inside its own box (tables, graphs, code).
				if wide := run(t, b, "page width", chromedp.Evaluate[int]("document.documentElement.scrollWidth")); wide > int(width) {
					t.Errorf("the page is %d pixels wide in a %d-pixel window", wide, width)
				}
				png := run(t, b, "screenshot", chromedp.FullScreenshot(100))
				if err := os.WriteFile(filepath.Join(shots, fmt.Sprintf("%s-%d.png", pc.name, width)), png, 0o644); err != nil {
					t.Fatal(err)
				}
				expected := ""
				if pc.status != 200 {
					expected = fmt.Sprintf("status of %d", pc.status)
				}
				b.check(t, sc.url+pc.path, expected)
			})
		}
	}
	t.Logf("screenshots in %s", shots)
}

// TestBrowserPath follows a newcomer's path with clicks: search for a task,
// open the first result, go to its parent, then to the parent's instance.
func TestBrowserPath(t *testing.T) {
	if testing.Short() {
		t.Skip("the browser tests run in make test, not with -short")
	}
	sc := sharedShowcase(t)
	b := newBrowser(t)
	b.visit(t, sc.url+"/")
	where := func() string { return run(t, b, "location", chromedp.Location()) }
	// clickTo clicks a link or button and waits for the page it loads.
	clickTo := func(what, sel string) {
		t.Helper()
		run(t, b, what, chromedp.WaitEvent(page.LoadEventFired, func(page.EventLoadEventFired) bool { return true }, chromedp.Click(sel)))
	}
	run(t, b, "type a search", chromedp.SendKeys(`form.search input[name="q"]`, "env vars with a default and a warning"))
	clickTo("search", `form.search button`)
	if !strings.Contains(where(), "/?q=env+vars") {
		t.Fatalf("after the search at %s", where())
	}
	if got := text(t, b, "table.skills a.intent"); got != "Refactor auth to use env vars with a default and a warning" {
		t.Fatalf("first result = %q", got)
	}
	clickTo("open the first result", `table.skills a.intent`)
	if want := "/web/skills/" + string(sc.grand); !strings.HasSuffix(where(), want) {
		t.Fatalf("at %s, want %s", where(), want)
	}
	clickTo("go to the parent", `section.parent h4 a`)
	if want := "/web/skills/" + string(sc.child); !strings.HasSuffix(where(), want) {
		t.Fatalf("at %s, want the parent %s", where(), want)
	}
	if got := text(t, b, "h1"); got != "Refactor auth to use env vars with a default" {
		t.Errorf("parent's h1 = %q", got)
	}
	clickTo("go to the instance", `dl.facts a[href^="/web/instances/"]`)
	if !strings.HasSuffix(where(), "/web/instances/instance_b") {
		t.Fatalf("at %s, want instance_b's page", where())
	}
	if got := text(t, b, "h1"); got != "instance_b" {
		t.Errorf("instance's h1 = %q", got)
	}
	// and back to a skill from the instance's list
	clickTo("open a skill of the instance", `table.skills a.intent`)
	if !strings.Contains(where(), "/web/skills/sha256:") {
		t.Errorf("at %s, want a skill", where())
	}
	b.check(t, "the path", "")
}
