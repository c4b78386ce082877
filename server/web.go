package server

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/go-git/go-git/v5/plumbing"

	"github.com/hive-dev/hive/internal/plural"
	"github.com/hive-dev/hive/lineage"
	"github.com/hive-dev/hive/registry"
	"github.com/hive-dev/hive/schema"
	"github.com/hive-dev/hive/search"
	"github.com/hive-dev/hive/signing"
	"github.com/hive-dev/hive/trust"
)

// The web pages: skills (listed and searched, with filters), a page per
// skill (its trace, provenance, lineage graph, diffs and disputes), the
// instances, the disputes and the hive. Every page is rendered on the
// server by html/template, which escapes everything a skill holds; the
// pages run no script at all (the Content-Security-Policy forbids it) and
// load nothing from elsewhere.

//go:embed templates/*.html static/*
var webFS embed.FS

var pages = template.Must(template.New("").Funcs(template.FuncMap{
	"short":         func(id schema.ID) string { return id.Short() },
	"hash12":        func(h string) string { return h[:min(12, len(h))] },
	"num2":          func(f float64) string { return strconv.FormatFloat(f, 'f', 2, 64) },
	"num3":          func(f float64) string { return strconv.FormatFloat(f, 'f', 3, 64) },
	"exact":         func(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) },
	"trunc":         truncate,
	"plural":        plural.N,
	"skillURL":      func(id schema.ID) string { return "/web/skills/" + string(id) },
	"disputeAnchor": func(id schema.ID) string { return "dispute-" + id.Hex() },
	"instURL":       func(id string) string { return "/web/instances/" + url.PathEscape(id) },
	"add":           func(a, b int) int { return a + b },
	"sub":           func(a, b int) int { return a - b },
	"rows":          func(rs []row, scored bool) map[string]any { return map[string]any{"Rows": rs, "Scored": scored} },
}).ParseFS(webFS, "templates/*.html"))

// pageSize is how many skills a list page shows.
const pageSize = 50

// webRoutes adds the web pages to the server's routes.
func (s *Server) webRoutes(route func(pattern, name string, h http.HandlerFunc)) {
	route("GET /{$}", "web_index", s.webIndex)
	route("GET /web/skills/{id}", "web_skill", s.webSkill)
	route("GET /web/instances", "web_instances", s.webInstances)
	route("GET /web/instances/{id}", "web_instance", s.webInstance)
	route("GET /web/disputes", "web_disputes", s.webDisputes)
	route("GET /web/hive", "web_hive", s.webHive)
	route("GET /web/static/{file}", "web_static", s.webStatic)
	route("GET /favicon.ico", "web_static", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/web/static/favicon.svg", http.StatusMovedPermanently)
	})
}

// view is what every page template gets: the page's own data and what the
// frame around it shows.
type view struct {
	Title string
	Nav   string // the current section: skills, instances, disputes, hive
	Hive  string // the hive's name
	Query string // the search box
	Data  any
}

// webError is an error page to show: a status and a message for people,
// and for a removed skill, the dispute that removed it.
type webError struct {
	status int
	msg    string
	gone   *goneView
}

// goneView is a skill a resolved dispute removed, as its 410 page shows it.
type goneView struct {
	Trace     schema.ID
	RemovedIn string // the commit that removed it
	Dispute   *registry.DisputeStatus
}

func (e *webError) Error() string { return e.msg }

func notFound(format string, args ...any) error {
	return &webError{status: http.StatusNotFound, msg: fmt.Sprintf(format, args...)}
}

func badRequest(format string, args ...any) error {
	return &webError{status: http.StatusBadRequest, msg: fmt.Sprintf(format, args...)}
}

// page renders a page: fn reads what it needs through a borrowed store and
// the catalog of main, and names the template and its view. Templates are
// rendered into a buffer first, so an error in one is a 500 page (and a
// log line), never half a page or a dropped error.
func (s *Server) page(w http.ResponseWriter, r *http.Request, fn func(st *registry.Store, c *catalog) (string, *view, error)) {
	st, done, err := s.reader()
	if err != nil {
		s.webFail(w, r, err)
		return
	}
	defer done()
	c, err := s.catalogFor(st)
	if err != nil {
		s.webFail(w, r, err)
		return
	}
	name, v, err := fn(st, c)
	if err != nil {
		s.webFail(w, r, err)
		return
	}
	v.Hive = c.cfg.Name
	s.render(w, r, http.StatusOK, name, v)
}

// render executes a template into a buffer and sends it with the headers
// every page has.
func (s *Server) render(w http.ResponseWriter, r *http.Request, status int, name string, v *view) {
	var buf bytes.Buffer
	if err := pages.ExecuteTemplate(&buf, name, v); err != nil {
		s.opts.Log.Error("web template", "template", name, "path", r.URL.Path, "err", err)
		if name == "error" {
			http.Error(w, "internal error", http.StatusInternalServerError)
			return
		}
		s.render(w, r, http.StatusInternalServerError, "error", &view{Title: "Internal error", Data: errorView{Status: 500, Msg: "the page could not be rendered"}})
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// errorView is the data of the error page.
type errorView struct {
	Status int
	Msg    string
	Gone   *goneView
}

// webFail shows an error page: the client's own mistakes (a bad id, a
// missing page) with their message, the server's as a 500 and a log line.
func (s *Server) webFail(w http.ResponseWriter, r *http.Request, err error) {
	var we *webError
	if !errors.As(err, &we) {
		s.opts.Log.Error("web page", "path", r.URL.Path, "err", err)
		we = &webError{status: http.StatusInternalServerError, msg: "the hive could not be read; the server's log says why"}
	}
	title := http.StatusText(we.status)
	s.render(w, r, we.status, "error", &view{Title: title, Data: errorView{Status: we.status, Msg: we.msg, Gone: we.gone}})
}

// unrouted answers a request no route takes: 405 with an Allow header
// when its path takes other methods, else 404. A path of the pages gets
// the HTML error page, one of the JSON API the JSON error, and any other
// the one its client accepts (a browser, HTML).
func (s *Server) unrouted(mux *http.ServeMux) http.Handler {
	notFound := s.instrument("web_not_found", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		msg := "no such path: " + schema.Quote(r.URL.Path, 100)
		if wantsHTML(r) {
			s.webFail(w, r, notFound("There is no page at %s.", schema.Quote(r.URL.Path, 100)))
			return
		}
		writeError(w, http.StatusNotFound, "not_found", msg, nil)
	}))
	notAllowed := s.instrument("method_not_allowed", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		allow := allowed(mux, r)
		w.Header().Set("Allow", strings.Join(allow, ", "))
		msg := fmt.Sprintf("method %s is not allowed on %s, which takes %s", truncate(r.Method, 20), schema.Quote(r.URL.Path, 100), strings.Join(allow, ", "))
		if wantsHTML(r) {
			s.webFail(w, r, &webError{status: http.StatusMethodNotAllowed, msg: "The " + msg + "."})
			return
		}
		writeError(w, http.StatusMethodNotAllowed, "method_not_allowed", msg, nil)
	}))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if len(allowed(mux, r)) > 0 {
			notAllowed.ServeHTTP(w, r)
			return
		}
		notFound.ServeHTTP(w, r)
	})
}

// allowed lists the methods some route takes at r's path.
func allowed(mux *http.ServeMux, r *http.Request) []string {
	var out []string
	for _, m := range []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
		probe := &http.Request{Method: m, URL: r.URL, Host: r.Host, Header: http.Header{}}
		if _, pattern := mux.Handler(probe); pattern != "" {
			out = append(out, m)
		}
	}
	return out
}

// wantsHTML tells whether an error goes to a person, as a page: for the
// pages' paths, yes; for the JSON API's, no; for others, when the client
// accepts HTML.
func wantsHTML(r *http.Request) bool {
	p := r.URL.Path
	switch {
	case p == "/" || strings.HasPrefix(p, "/web/") || p == "/favicon.ico":
		return true
	case isGitRequest(r):
		return false
	}
	for _, api := range []string{"/skills", "/instances", "/disputes", "/healthz", "/metrics", "/mcp"} {
		if p == api || strings.HasPrefix(p, api+"/") {
			return false
		}
	}
	return strings.Contains(r.Header.Get("Accept"), "text/html")
}

// webStatic serves the style sheet and the icon, cached for an hour.
func (s *Server) webStatic(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("file")
	b, err := webFS.ReadFile("static/" + name)
	if err != nil || strings.Contains(name, "/") {
		s.webFail(w, r, notFound("There is no file %s here.", schema.Quote(r.URL.Path, 100)))
		return
	}
	switch {
	case strings.HasSuffix(name, ".css"):
		w.Header().Set("Content-Type", "text/css; charset=utf-8")
	case strings.HasSuffix(name, ".svg"):
		w.Header().Set("Content-Type", "image/svg+xml")
	}
	w.Header().Set("Cache-Control", "public, max-age=3600")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Write(b)
}

// row is a skill in a list.
type row struct {
	*skillInfo
	Score    float64
	Scored   bool
	Vouched  bool // its author is vouched for (trust.Vouched)
	Failed   bool // what others reported says it fails (trust.SkillStanding)
	Proven   bool // instances with standing reported it works
	Disputes int
	Children int
}

// listView is the home page: skills, listed or searched, filtered, paged.
type listView struct {
	Query     string
	Instance  string
	MinConf   string
	Vouched   bool // only skills of authors vouched for
	Instances []string
	Total     int // skills on main
	Matches   int // skills after the search and filters
	Rows      []row
	Page      int
	Pages     int
	PrevURL   string
	NextURL   string
	Threshold float64
	ByID      []int // the query is an id or a prefix of some: their positions
}

func (s *Server) webIndex(w http.ResponseWriter, r *http.Request) {
	s.page(w, r, func(st *registry.Store, c *catalog) (string, *view, error) {
		q := r.URL.Query()
		lv := &listView{Query: cleanText(q.Get("q")), Instance: cleanText(q.Get("instance")), MinConf: cleanText(q.Get("min_confidence")),
			Vouched: q.Get("vouched") != "" || q.Get("trusted") != "", Total: len(c.skills), Threshold: search.DefaultThreshold}
		if lv.Query == "" {
			lv.Query = cleanText(q.Get("intent")) // the first pages' parameter
		}
		for _, in := range c.instances {
			lv.Instances = append(lv.Instances, in.ID)
		}
		minConf := 0.0
		if lv.MinConf != "" {
			f, ok := unitParam(lv.MinConf)
			if !ok {
				return "", nil, badRequest("The least confidence must be a number from 0 to 1, not %s.", schema.Quote(lv.MinConf, 40))
			}
			minConf = f
		}
		if lv.Instance != "" && !c.registered(lv.Instance) {
			return "", nil, notFound("No instance %s is registered in this hive.", schema.Quote(lv.Instance, 70))
		}
		// The reputation table (kept per main, warmed when main moves)
		// filters by vouched-for authors and marks each row's standing.
		tab, err := c.table(st)
		if err != nil {
			return "", nil, err
		}
		// The candidates are positions in the catalog's list (all of it, or
		// the search's results in rank order); the filters read the
		// catalog's arrays of instance and confidence, so a scan of 100k
		// skills touches no skill. Two passes: count what the filters
		// keep, then take the rows of the page asked for.
		filtered := lv.Instance != "" || minConf > 0 || lv.Vouched
		inst, none := int32(-1), false // none: an instance with no skill
		if lv.Instance != "" {
			k, ok := c.instIndex[lv.Instance]
			inst, none = k, !ok
		}
		vouched := make([]bool, len(c.instNames))
		for k, name := range c.instNames {
			vouched[k] = !lv.Vouched || tab.Of(name).Vouched && !c.cfg.IsRevoked(name)
		}
		keep := func(p int) bool {
			return !none && (inst < 0 || c.inst[p] == inst) && c.conf[p] >= minConf && vouched[c.inst[p]]
		}
		var positions []int // nil: every skill, in order
		var scores []float64
		if lv.ByID = c.withPrefix(lv.Query); lv.ByID != nil {
			positions = lv.ByID // an id or a prefix of one: those skills, newest first
		} else if lv.Query != "" {
			ix, err := s.index(st)
			if err != nil {
				return "", nil, err
			}
			positions = []int{}
			for _, res := range ix.Search(search.Query{Text: lv.Query, Threshold: search.DefaultThreshold, Instance: lv.Instance}) {
				if p, ok := c.pos[res.ID]; ok { // the index and the catalog follow the same main
					positions, scores = append(positions, p), append(scores, res.Score)
				}
			}
		}
		candidates := len(c.skills)
		if positions != nil {
			candidates = len(positions)
		}
		at := func(i int) int {
			if positions != nil {
				return positions[i]
			}
			return i
		}
		if !filtered {
			lv.Matches = candidates
		} else {
			for i := range candidates {
				if keep(at(i)) {
					lv.Matches++
				}
			}
		}
		lv.Pages = max(1, (lv.Matches+pageSize-1)/pageSize)
		lv.Page = intParam(q.Get("page"), 1, 1, lv.Pages)
		from := (lv.Page - 1) * pageSize
		i := from // without filters the page starts at its first row
		if filtered {
			i = 0
			for kept := 0; i < candidates; i++ {
				if keep(at(i)) {
					if kept == from {
						break
					}
					kept++
				}
			}
		}
		for ; i < candidates && len(lv.Rows) < pageSize; i++ {
			p := at(i)
			if filtered && !keep(p) {
				continue
			}
			r := row{skillInfo: c.skills[p]}
			if scores != nil {
				r.Score, r.Scored = scores[i], true
			}
			c.decorate(&r, tab)
			lv.Rows = append(lv.Rows, r)
		}
		link := func(page int) string {
			v := url.Values{}
			for k, x := range map[string]string{"q": lv.Query, "instance": lv.Instance, "min_confidence": lv.MinConf} {
				if x != "" {
					v.Set(k, x)
				}
			}
			if lv.Vouched {
				v.Set("vouched", "1")
			}
			v.Set("page", strconv.Itoa(page))
			return "/?" + v.Encode()
		}
		if lv.Page > 1 {
			lv.PrevURL = link(lv.Page - 1)
		}
		if lv.Page < lv.Pages {
			lv.NextURL = link(lv.Page + 1)
		}
		title := "Skills"
		if lv.Query != "" {
			title = "Search: " + truncate(lv.Query, 60)
		}
		return "index", &view{Title: title, Nav: "skills", Query: lv.Query, Data: lv}, nil
	})
}

// decorate adds to a row what the catalog knows besides the skill.
func (c *catalog) decorate(r *row, tab *trust.Table) {
	r.Children = len(c.children[r.ID])
	for _, i := range c.about[r.ID] {
		if c.disputes[i].Resolution == nil {
			r.Disputes++
		}
	}
	if tab != nil {
		r.Vouched = tab.Of(r.Instance).Vouched && !c.cfg.IsRevoked(r.Instance)
		sk := tab.Skill(r.ID)
		r.Failed, r.Proven = sk.Failed, sk.Proven
	}
}

// commitView is a commit as a page shows it.
type commitView struct {
	Hash    string
	Author  string
	When    string
	Subject string
}

func readCommit(st *registry.Store, h plumbing.Hash) (*commitView, error) {
	if h.IsZero() {
		return nil, nil
	}
	cm, err := st.Commit(h)
	if err != nil {
		return nil, fmt.Errorf("commit %s: %w", h, err)
	}
	subject, _, _ := strings.Cut(cm.Message, "\n")
	return &commitView{Hash: h.String(), Author: cm.Author.Name, When: cm.Committer.When.UTC().Format("2006-01-02 15:04:05 UTC"), Subject: subject}, nil
}

// skillView is a skill's page.
type skillView struct {
	ID          schema.ID
	Trace       *schema.Trace
	Info        *skillInfo
	Commit      *commitView
	Key         *registry.Instance
	Hint        string
	Verified    bool
	VerifyErr   string
	KeyThenIn   string // a rotation has replaced the key that signed it: the commit whose tree holds that key
	KeyThenFP   string // and its fingerprint
	TracePath   string
	BundlePath  string
	CloneURL    string
	Graph       *lineage.Layout
	Ancestors   int
	Descendants int
	Parents     []parentView
	Children    []*skillInfo
	Disputes    []registry.DisputeStatus
	Open        int
	Standing    *trust.Standing
	Skill       *trust.SkillStanding // what others reported of the skill itself
	Outcomes    []*schema.Outcome    // the reports themselves, by reporter
	RepErr      string
}

// parentView is a lineage parent with the diff from it.
type parentView struct {
	ID      schema.ID
	Intent  string
	Present bool
	Removed *removedInfo
	Same    bool
	Diff    []diffSection
}

// diffSection is one part of a diff, with long runs of unchanged lines
// folded.
type diffSection struct {
	Name  string
	Lines []diffLine
}

type diffLine struct {
	Op   string // " ", "-", "+", or "…" for folded lines
	Text string
}

func (s *Server) webSkill(w http.ResponseWriter, r *http.Request) {
	s.page(w, r, func(st *registry.Store, c *catalog) (string, *view, error) {
		q := strings.ToLower(r.PathValue("id")) // ids are lower case; people may type them otherwise
		id, err := st.ResolveID(q)
		switch {
		case errors.Is(err, registry.ErrInvalid):
			return "", nil, badRequest("%s is not a skill id: an id is sha256: and 64 hex digits, or at least 6 of them.", schema.Quote(r.PathValue("id"), 80))
		case errors.Is(err, registry.ErrNotFound):
			if g := c.gone(q); g != nil {
				return "", nil, &webError{status: http.StatusGone, msg: "This skill was removed from main by a resolved dispute.", gone: g}
			}
			return "", nil, notFound("No skill %s is on this hive's main.", schema.Quote(r.PathValue("id"), 80))
		case err != nil && strings.Contains(err.Error(), "ambiguous"):
			return "", nil, badRequest("%s", err.Error())
		case err != nil:
			return "", nil, err
		}
		e, err := st.Trace(id)
		if err != nil {
			return "", nil, err
		}
		sv := &skillView{ID: id, Trace: e.Trace, Info: c.byID[id], TracePath: registry.TracePath(id), BundlePath: registry.BundlePath(id),
			CloneURL: s.publicURL() + "/hive.git"}
		if sv.Info == nil { // added after the catalog was made: not possible while the catalog follows main
			return "", nil, fmt.Errorf("skill %s is not in the catalog of %s", id, c.head)
		}
		if sv.Commit, err = readCommit(st, sv.Info.Commit); err != nil {
			return "", nil, err
		}
		s.provenance(st, c, e, sv)
		g, err := lineage.Walk(c, id)
		if err != nil {
			return "", nil, err
		}
		sv.Graph, sv.Ancestors, sv.Descendants = g.Layout(), len(g.Ancestors), len(g.Descendants)
		for _, p := range e.Trace.Lineage {
			pv := parentView{ID: p, Removed: c.removed[p]}
			if sk := c.byID[p]; sk != nil {
				pe, err := st.Trace(p)
				if err != nil {
					return "", nil, err
				}
				d := lineage.Diff(p, pe.Trace, id, e.Trace)
				pv.Intent, pv.Present, pv.Same, pv.Diff = sk.Intent, true, d.Same, foldDiff(d)
			}
			sv.Parents = append(sv.Parents, pv)
		}
		for _, k := range c.children[id] {
			sv.Children = append(sv.Children, c.byID[k])
		}
		for _, i := range c.about[id] {
			sv.Disputes = append(sv.Disputes, c.disputes[i])
			if c.disputes[i].Resolution == nil {
				sv.Open++
			}
		}
		if sv.Outcomes, err = st.Outcomes(id); err != nil {
			return "", nil, err
		}
		if tab, err := c.table(st); err != nil {
			sv.RepErr = err.Error()
		} else {
			st, sk := tab.Of(e.Trace.InstanceID), tab.Skill(id)
			sv.Standing, sv.Skill = &st, &sk
		}
		return "skill", &view{Title: truncate(e.Trace.Intent, 80), Nav: "skills", Data: sv}, nil
	})
}

// provenance fills who signed a skill, with which key, and whether the
// signature verifies now with the key the hive registered.
func (s *Server) provenance(st *registry.Store, c *catalog, e *registry.Entry, sv *skillView) {
	for i := range c.instances {
		if c.instances[i].ID == e.Trace.InstanceID {
			sv.Key = &c.instances[i]
		}
	}
	b, err := signing.ParseBundle(e.Bundle)
	if err != nil {
		sv.VerifyErr = err.Error()
		return
	}
	sv.Hint = b.Hint()
	// The key that signed it is the one registered when it was committed,
	// which a rotation since may have replaced.
	pub, at, err := st.KeyAt(sv.Info.Commit, e.Trace.InstanceID)
	if err != nil {
		sv.VerifyErr = err.Error()
		return
	}
	if sv.Key == nil || sv.Key.Fingerprint != pub.Fingerprint() {
		sv.KeyThenIn, sv.KeyThenFP = at.String(), pub.Fingerprint()
	}
	if err := b.Verify(pub, e.Data); err != nil {
		sv.VerifyErr = err.Error()
		return
	}
	sv.Verified = true
}

// foldDiff keeps, of each part of a diff, the changed lines with
// lineage.Context lines around them; longer runs are folded into "…".
func foldDiff(d *lineage.TraceDiff) []diffSection {
	var out []diffSection
	for _, sec := range d.Sections {
		show := make([]bool, len(sec.Lines))
		for i, l := range sec.Lines {
			if l.Op != " " {
				for k := max(0, i-lineage.Context); k <= min(len(sec.Lines)-1, i+lineage.Context); k++ {
					show[k] = true
				}
			}
		}
		ds := diffSection{Name: sec.Name}
		folded := false
		for i, l := range sec.Lines {
			if !show[i] {
				if !folded {
					ds.Lines = append(ds.Lines, diffLine{Op: "…"})
				}
				folded = true
				continue
			}
			folded = false
			ds.Lines = append(ds.Lines, diffLine{Op: l.Op, Text: l.Text})
		}
		out = append(out, ds)
	}
	return out
}

// instanceRow is an instance in a list, with its standing.
type instanceRow struct {
	registry.Instance
	Standing trust.Standing
	Open     int // open disputes about its skills
}

func (s *Server) standings(st *registry.Store, c *catalog) (*trust.Table, []instanceRow, error) {
	tab, err := c.table(st)
	if err != nil {
		return nil, nil, err
	}
	var rows []instanceRow
	for _, in := range c.instances {
		ir := instanceRow{Instance: in, Standing: tab.Of(in.ID)}
		ir.Standing.Vouched = ir.Standing.Vouched && !in.Revoked
		for _, d := range c.disputes {
			if d.Resolution == nil && c.authorOf(d.Dispute.Trace) == in.ID {
				ir.Open++
			}
		}
		rows = append(rows, ir)
	}
	return tab, rows, nil
}

// withPrefix lists the positions of the skills whose id starts with q,
// newest first, when q is an id or a prefix of at least 6 hex digits (with
// or without "sha256:", in either case); nil when it is not, or none does.
func (c *catalog) withPrefix(q string) []int {
	hex := strings.TrimPrefix(strings.ToLower(q), "sha256:")
	if len(hex) < 6 || len(hex) > 64 || strings.Trim(hex, "0123456789abcdef") != "" {
		return nil
	}
	var out []int
	for p, sk := range c.skills {
		if strings.HasPrefix(sk.ID.Hex(), hex) {
			out = append(out, p)
		}
	}
	return out
}

// cleanText is a query parameter as a page may show it: trimmed, invalid
// UTF-8 and control characters replaced (tabs and line breaks by spaces,
// the others by U+FFFD).
func cleanText(s string) string {
	s = strings.Map(func(r rune) rune {
		switch {
		case r == '\t' || r == '\n' || r == '\r':
			return ' '
		case unicode.IsControl(r):
			return utf8.RuneError
		}
		return r
	}, strings.ToValidUTF8(s, "\uFFFD"))
	return strings.TrimSpace(s)
}

// gone is the removed skill that q (a full id or a prefix) names, with the
// dispute that removed it; nil when q names no removed skill, or several.
func (c *catalog) gone(q string) *goneView {
	hex := strings.TrimPrefix(q, "sha256:")
	var g *goneView
	for id, rm := range c.removed {
		if !strings.HasPrefix(id.Hex(), hex) {
			continue
		}
		if g != nil {
			return nil // ambiguous
		}
		g = &goneView{Trace: id, RemovedIn: rm.RemovedIn.String()}
		for _, i := range c.about[id] {
			if d := c.disputes[i]; d.Resolution != nil && d.Resolution.Decision == registry.DecisionRemove {
				g.Dispute = &d
			}
		}
	}
	return g
}

// registered tells whether an instance has a key registered on main.
func (c *catalog) registered(instance string) bool {
	return slices.ContainsFunc(c.instances, func(in registry.Instance) bool { return in.ID == instance })
}

// authorOf is the instance of a skill on main ("" when it is not).
func (c *catalog) authorOf(id schema.ID) string {
	if sk := c.byID[id]; sk != nil {
		return sk.Instance
	}
	return ""
}

func (s *Server) webInstances(w http.ResponseWriter, r *http.Request) {
	s.page(w, r, func(st *registry.Store, c *catalog) (string, *view, error) {
		_, rows, err := s.standings(st, c)
		if err != nil {
			return "", nil, err
		}
		return "instances", &view{Title: "Instances", Nav: "instances", Data: rows}, nil
	})
}

// instancePage is an instance's page.
type instancePage struct {
	instanceRow
	PEM      string
	Chart    *chart
	Skills   []row
	Page     int
	Pages    int
	PrevURL  string
	NextURL  string
	About    []disputeRow // disputes about its skills (removed ones too)
	By       []disputeRow // disputes it opened
	Resolved []disputeRow // resolutions it signed
	Events   int          // events of history: the chart's x axis
}

func (s *Server) webInstance(w http.ResponseWriter, r *http.Request) {
	s.page(w, r, func(st *registry.Store, c *catalog) (string, *view, error) {
		tab, rows, err := s.standings(st, c)
		if err != nil {
			return "", nil, err
		}
		rep, err := c.reputation(st) // the chart's history
		if err != nil {
			return "", nil, err
		}
		name := r.PathValue("id")
		i := slices.IndexFunc(rows, func(ir instanceRow) bool { return ir.ID == name })
		if i < 0 {
			return "", nil, notFound("No instance %s is registered in this hive.", schema.Quote(name, 70))
		}
		iv := &instancePage{instanceRow: rows[i], Events: rep.events}
		iv.PEM = c.pems[name]
		iv.Chart = reputationChart(rep.series[name], rep.events)
		mine := c.byInstance[name]
		iv.Pages = max(1, (len(mine)+pageSize-1)/pageSize)
		iv.Page = intParam(r.URL.Query().Get("page"), 1, 1, iv.Pages)
		from := (iv.Page - 1) * pageSize
		for _, sk := range mine[from:min(from+pageSize, len(mine))] {
			rw := row{skillInfo: sk}
			c.decorate(&rw, tab)
			iv.Skills = append(iv.Skills, rw)
		}
		base := "/web/instances/" + url.PathEscape(name) + "?page="
		if iv.Page > 1 {
			iv.PrevURL = base + strconv.Itoa(iv.Page-1)
		}
		if iv.Page < iv.Pages {
			iv.NextURL = base + strconv.Itoa(iv.Page+1)
		}
		for _, d := range c.disputeRows(st) {
			if d.Author == name {
				iv.About = append(iv.About, d)
			}
			if d.Dispute.InstanceID == name {
				iv.By = append(iv.By, d)
			}
			if d.Resolution != nil && d.Resolution.InstanceID == name {
				iv.Resolved = append(iv.Resolved, d)
			}
		}
		return "instance", &view{Title: name, Nav: "instances", Data: iv}, nil
	})
}

// removedAuthor is the instance of a removed trace, read from the commit
// that added it ("" when that cannot be read).
func (c *catalog) removedAuthor(st *registry.Store, id schema.ID) string {
	rm := c.removed[id]
	if rm == nil || rm.Commit.IsZero() {
		return ""
	}
	var author string
	st.TraceFiles(rm.Commit, []schema.ID{id}, func(_ int, data []byte) error {
		if t, err := schema.ParseCanonical(data); err == nil {
			author = t.InstanceID
		}
		return nil
	})
	return author
}

// disputeRow is a dispute with what the page shows beside it.
type disputeRow struct {
	registry.DisputeStatus
	Intent  string // the disputed skill's, while it is on main
	Author  string
	Present bool
}

// disputeRows is every dispute with its skill's intent and author.
func (c *catalog) disputeRows(st *registry.Store) []disputeRow {
	var rows []disputeRow
	for _, d := range c.disputes {
		dr := disputeRow{DisputeStatus: d}
		if sk := c.byID[d.Dispute.Trace]; sk != nil {
			dr.Intent, dr.Author, dr.Present = sk.Intent, sk.Instance, true
		} else {
			dr.Author = c.removedAuthor(st, d.Dispute.Trace)
		}
		rows = append(rows, dr)
	}
	return rows
}

func (s *Server) webDisputes(w http.ResponseWriter, r *http.Request) {
	s.page(w, r, func(st *registry.Store, c *catalog) (string, *view, error) {
		rows := c.disputeRows(st)
		open := 0
		for _, d := range rows {
			if d.Resolution == nil {
				open++
			}
		}
		// Open disputes first, then by id.
		slices.SortStableFunc(rows, func(a, b disputeRow) int {
			if (a.Resolution == nil) != (b.Resolution == nil) {
				if a.Resolution == nil {
					return -1
				}
				return 1
			}
			return strings.Compare(string(a.ID), string(b.ID))
		})
		return "disputes", &view{Title: "Disputes", Nav: "disputes", Data: map[string]any{"Rows": rows, "Open": open}}, nil
	})
}

// hiveView is the hive's page.
type hiveView struct {
	Config    *registry.Config
	Head      string
	Commits   int
	Skills    int
	Instances int
	Removed   int
	Open      int
	Resolved  int
	Workflow  bool
	CloneURL  string
	Path      string
}

func (s *Server) webHive(w http.ResponseWriter, r *http.Request) {
	s.page(w, r, func(st *registry.Store, c *catalog) (string, *view, error) {
		hv := &hiveView{Config: c.cfg, Head: c.head.String(), Commits: len(c.commits), Skills: len(c.skills), Instances: len(c.instances),
			Removed: len(c.removed), Workflow: c.workflow, CloneURL: s.publicURL() + "/hive.git", Path: registry.WorkflowPath}
		for _, d := range c.disputes {
			if d.Resolution == nil {
				hv.Open++
			} else {
				hv.Resolved++
			}
		}
		return "hive", &view{Title: "The hive " + c.cfg.Name, Nav: "hive", Data: hv}, nil
	})
}

// chart is an SVG line chart of an instance's reputation over history.
type chart struct {
	W, H       int
	Left, Top  int
	PlotW      int
	PlotH      int
	Line       string // polyline points
	Dots       []dot
	VouchedY   int
	Ticks      []tick
	XEnd       string
	Last       float64
	Empty      bool
	Transcript string // the values, for readers of the page who do not see the chart
}

type dot struct {
	X, Y  int
	Label string
}

type tick struct {
	Y     int
	Label string
}

// reputationChart draws a reputation series: x is the place of a commit
// in main's first-parent history, y the reputation in [0,1] there, with
// the vouched-for bar as a dashed line.
func reputationChart(pts []repPoint, events int) *chart {
	ch := &chart{W: 640, H: 220, Left: 44, Top: 12, PlotW: 580, PlotH: 172}
	y := func(v float64) int { return ch.Top + int(float64(ch.PlotH)*(1-v)+0.5) }
	ch.VouchedY = y(trust.Vouched)
	for _, v := range []float64{0, 0.25, 0.5, 0.75, 1} {
		ch.Ticks = append(ch.Ticks, tick{Y: y(v), Label: strconv.FormatFloat(v, 'f', 2, 64)})
	}
	ch.XEnd = strconv.Itoa(events)
	if len(pts) == 0 || events == 0 {
		ch.Empty = true
		return ch
	}
	var line, words []string
	prevY := 0
	for i, p := range pts {
		x := ch.Left + int(float64(ch.PlotW)*float64(p.At)/float64(events)+0.5)
		py := y(p.Value)
		if i > 0 { // a step: the value holds until the next point
			line = append(line, fmt.Sprintf("%d,%d", x, prevY))
		}
		line = append(line, fmt.Sprintf("%d,%d", x, py))
		prevY = py
		label := fmt.Sprintf("%.3f at %s", p.Value, plural.N(p.At, "commit"))
		ch.Dots = append(ch.Dots, dot{X: x, Y: py, Label: label})
		words = append(words, label)
	}
	line = append(line, fmt.Sprintf("%d,%d", ch.Left+ch.PlotW, prevY))
	ch.Line = strings.Join(line, " ")
	ch.Last = pts[len(pts)-1].Value
	ch.Transcript = strings.Join(words, "; ")
	return ch
}

// truncate cuts s to at most n characters, with "…" when it cut.
func truncate(s string, n int) string {
	if len([]rune(s)) <= n {
		return s
	}
	return string([]rune(s)[:n-1]) + "…"
}
