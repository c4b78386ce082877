package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hive-dev/hive/registry"
	"github.com/hive-dev/hive/schema"
	"github.com/hive-dev/hive/search"
	"github.com/hive-dev/hive/trust"
)

// Handler routes the server's endpoints.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	route := func(pattern, name string, h http.HandlerFunc) {
		mux.Handle(pattern, s.instrument(name, deadlines(apiTimeout, h)))
	}
	route("POST /skills", "post_skills", s.postSkill)
	route("GET /skills", "get_skills", s.getSkills)
	route("GET /skills/{id}", "get_skill", s.getSkill)
	route("POST /skills/{id}/outcomes", "post_outcome", s.postOutcome)
	route("GET /skills/{id}/outcomes", "get_outcomes", s.getOutcomes)
	route("GET /instances", "get_instances", s.getInstances)
	route("GET /instances/{id}", "get_instance", s.getInstance)
	route("GET /disputes", "get_disputes", s.getDisputes)
	route("GET /healthz", "healthz", s.healthz)
	mux.Handle("/mcp", s.instrument("mcp", deadlines(apiTimeout, s.mcpHandler())))
	mux.Handle("GET /metrics", s.metrics.handler())
	s.webRoutes(route)
	for _, prefix := range []string{"", "/hive.git"} {
		g := s.instrument("git", deadlines(s.gitConnTimeout(), s.gitHandler(prefix)))
		for _, p := range []string{"/info/refs", "/git-upload-pack", "/git-receive-pack", "/HEAD"} {
			mux.Handle(prefix+p, g)
		}
	}
	return s.guard(mux)
}

// Time allowed to read a request's body and write its answer in the JSON
// API; git requests have Limits.GitTimeout.
const apiTimeout = 60 * time.Second

// deadlines bounds the time a handler may spend reading and writing.
func deadlines(d time.Duration, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rc := http.NewResponseController(w)
		rc.SetReadDeadline(time.Now().Add(d))
		rc.SetWriteDeadline(time.Now().Add(d))
		h.ServeHTTP(w, r)
	})
}

// apiError is the JSON body of every error.
type apiError struct {
	Error struct {
		Code    string   `json:"code"`
		Message string   `json:"message"`
		Reasons []string `json:"reasons,omitempty"`
	} `json:"error"`
}

// writeJSON answers v as JSON with status code. It is encoded whole
// before anything is sent: a value that cannot be encoded (a NaN) is a 500
// and a log line, never a 200 with an empty body.
func (s *Server) writeJSON(w http.ResponseWriter, code int, v any) {
	b, err := encodeJSON(v)
	if err != nil {
		s.opts.Log.Error("encode a JSON answer", "err", err)
		writeError(w, http.StatusInternalServerError, "internal", "the answer could not be encoded", nil)
		return
	}
	sendJSON(w, code, b)
}

func encodeJSON(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	err := enc.Encode(v)
	return buf.Bytes(), err
}

func sendJSON(w http.ResponseWriter, code int, b []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	w.Write(b)
}

// writeError answers an error in the API's JSON form (which, strings
// only, always encodes).
func writeError(w http.ResponseWriter, code int, errCode, msg string, reasons []string) {
	var e apiError
	e.Error.Code, e.Error.Message, e.Error.Reasons = errCode, msg, reasons
	b, _ := encodeJSON(e) // strings only: it cannot fail
	sendJSON(w, code, b)
}

// unitParam parses a query parameter that must be a decimal number in
// [0,1]: NaN, infinities, hexadecimal floats (0x1p-1, which ParseFloat
// takes), underscores and anything out of range are refused.
func unitParam(v string) (float64, bool) {
	if strings.ContainsAny(v, "xXpP_") {
		return 0, false
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || !(f >= 0 && f <= 1) {
		return 0, false
	}
	return f, true
}

// postSkill is the seed's POST /skills: a federation_trace_v1 envelope,
// committed to the hive when it passes every rule.
func (s *Server) postSkill(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, registry.MaxEnvelopeSize))
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge):
		s.metrics.skills.WithLabelValues("too_large").Inc()
		writeError(w, http.StatusRequestEntityTooLarge, "too_large", "the envelope is over "+strconv.Itoa(registry.MaxEnvelopeSize)+" bytes", nil)
		return
	case err != nil:
		writeError(w, http.StatusBadRequest, "unreadable", "the request body could not be read: "+err.Error(), nil)
		return
	}
	if env, err := registry.ParseEnvelope(body); err == nil {
		if t, err := schema.ParseCanonical(env.Trace); err == nil && !writeAs(w, r, t.InstanceID) {
			s.metrics.skills.WithLabelValues("wrong_instance").Inc()
			return
		}
	}
	added, err := s.submit(r.Context(), body)
	if err == nil && added != nil {
		s.metrics.skills.WithLabelValues("created").Inc()
		answer := map[string]any{"trace_id": string(added.ID), "commit": added.Commit.String(), "status": "accepted"}
		if warnings := s.nearDuplicates(r.Context(), added.ID); len(warnings) > 0 {
			answer["warnings"] = warnings
		}
		s.writeJSON(w, http.StatusCreated, answer)
		return
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		writeError(w, http.StatusServiceUnavailable, "busy", "the request ended before the skill was stored", nil)
		return
	}
	var reasons []string
	for _, e := range schema.All(err) {
		reasons = append(reasons, e.Error())
	}
	if len(reasons) == 0 && err != nil {
		for _, line := range strings.Split(err.Error(), "\n") {
			reasons = append(reasons, strings.TrimPrefix(line, "envelope: "))
		}
	}
	switch {
	case errors.Is(err, registry.ErrExists):
		s.metrics.skills.WithLabelValues("exists").Inc()
		writeError(w, http.StatusConflict, "exists", "the skill is already in the hive", reasons)
	case errors.Is(err, registry.ErrUnauthorised):
		s.metrics.skills.WithLabelValues("unauthorised").Inc()
		writeError(w, http.StatusForbidden, "unknown_key", "the skill's instance has no key registered in this hive, or its key is revoked: a key is registered by a commit that adds keys/<instance_id>.pub, pushed to the hive over git", reasons)
	case errors.Is(err, registry.ErrConflict):
		writeError(w, http.StatusServiceUnavailable, "busy", "the hive moved during the write; try again", reasons)
	default:
		var ie registry.InputErrors
		if err != nil && !errors.As(err, &ie) {
			s.opts.Log.Error("post skill", "err", err)
			writeError(w, http.StatusInternalServerError, "internal", "the skill could not be stored", nil)
			return
		}
		s.metrics.skills.WithLabelValues("invalid").Inc()
		writeError(w, http.StatusBadRequest, "invalid", "the skill breaks the hive's rules", reasons)
	}
}

// submission is one POST /skills waiting for the writer.
type submission struct {
	body  []byte
	reply chan submitted
}

type submitted struct {
	added *registry.Added
	err   error
}

// maxGroup bounds the skills committed in one group.
const maxGroup = 64

// submit hands a skill to the writer and waits for its answer.
func (s *Server) submit(ctx context.Context, body []byte) (*registry.Added, error) {
	s.startWriter.Do(func() { go s.writeLoop() })
	sub := submission{body: body, reply: make(chan submitted, 1)}
	select {
	case s.submissions <- sub:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	select {
	case r := <-sub.reply:
		return r.added, r.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// writeLoop is the one writer: it takes the skills waiting when it is free
// and commits them as a group (one commit each, one round of syncs), so
// concurrent clients share the cost of making a write durable.
func (s *Server) writeLoop() {
	for first := range s.submissions {
		group := []submission{first}
	gather:
		for len(group) < maxGroup {
			select {
			case sub, ok := <-s.submissions:
				if !ok {
					break gather
				}
				group = append(group, sub)
			default:
				break gather
			}
		}
		in := make([]registry.Input, len(group))
		for i, sub := range group {
			in[i] = registry.Input{Name: "envelope", Data: sub.body}
		}
		s.writeMu.Lock()
		added, errs := s.writer.ImportEach(in)
		s.retryConflicts(in, added, errs)
		s.writeMu.Unlock()
		for i, sub := range group {
			sub.reply <- submitted{added[i], errs[i]}
		}
	}
}

// conflictRetries is how often the writer tries again the skills that lost
// a race with a git push, which moved main under them (nothing of theirs
// was written).
const conflictRetries = 3

// retryConflicts imports again, in place, the inputs whose error is
// ErrConflict.
func (s *Server) retryConflicts(in []registry.Input, added []*registry.Added, errs []error) {
	for range conflictRetries {
		var redo []int
		for i, err := range errs {
			if errors.Is(err, registry.ErrConflict) {
				redo = append(redo, i)
			}
		}
		if len(redo) == 0 {
			return
		}
		again := make([]registry.Input, len(redo))
		for j, i := range redo {
			again[j] = in[i]
		}
		a, e := s.writer.ImportEach(again)
		for j, i := range redo {
			added[i], errs[i] = a[j], e[j]
		}
	}
}

// skillSummary is a skill in a list.
type skillSummary struct {
	ID                schema.ID `json:"id"`
	Intent            string    `json:"intent"`
	InstanceID        string    `json:"instance_id"`
	Confidence        float64   `json:"confidence"`
	VerificationScore float64   `json:"verification_score"`
	CreatedAt         string    `json:"created_at"`
	Score             *float64  `json:"score,omitempty"`
	// Standing is what other instances reported of the skill (in ranked
	// answers only).
	Standing *trust.SkillStanding `json:"standing,omitempty"`
}

func summary(e *registry.Entry) skillSummary {
	t := e.Trace
	return skillSummary{ID: e.ID, Intent: t.Intent, InstanceID: t.InstanceID, Confidence: t.Confidence, VerificationScore: t.VerificationScore, CreatedAt: t.CreatedAt}
}

// getSkills lists skills, paged, or ranks them by similarity to ?intent=.
func (s *Server) getSkills(w http.ResponseWriter, r *http.Request) {
	s.read(w, func(st *registry.Store) error {
		q := r.URL.Query()
		limit := intParam(q.Get("limit"), 50, 1, 1000)
		instance := q.Get("instance")
		var mine []schema.ID // the instance's skills, when one is asked for
		if instance != "" {
			c, err := s.catalogFor(st)
			if err != nil {
				return err
			}
			if !c.registered(instance) {
				writeError(w, http.StatusNotFound, "not_found", "no instance "+schema.Quote(instance, 70)+" is registered in this hive", nil)
				return nil
			}
			mine = []schema.ID{}
			for _, sk := range c.byInstance[instance] {
				mine = append(mine, sk.ID)
			}
			slices.Sort(mine)
		}
		if intent := q.Get("intent"); intent != "" {
			th := search.DefaultThreshold
			if v := q.Get("threshold"); v != "" {
				f, ok := unitParam(v)
				if !ok {
					writeError(w, http.StatusBadRequest, "invalid", "threshold must be a number in [0,1], not "+schema.Quote(v, 40), nil)
					return nil
				}
				th = f
			}
			res, err := s.searchSkills(r.Context(), st, intent, th, limit, instance)
			if err != nil {
				return err
			}
			s.writeJSON(w, http.StatusOK, map[string]any{"intent": intent, "threshold": th, "skills": res})
			return nil
		}
		ids := mine
		if ids == nil {
			var err error
			if ids, err = st.TraceIDs(); err != nil {
				return err
			}
		}
		page := intParam(q.Get("page"), 1, 1, 1<<30)
		from := min((page-1)*limit, len(ids))
		to := min(from+limit, len(ids))
		items := []skillSummary{}
		for _, id := range ids[from:to] {
			e, err := st.Trace(id)
			if err != nil {
				return err
			}
			items = append(items, summary(e))
		}
		s.writeJSON(w, http.StatusOK, map[string]any{"total": len(ids), "page": page, "limit": limit, "skills": items})
		return nil
	})
}

// searchSkills ranks the skills on main by intent similarity, through the
// search index (derived data under .git/hive, brought up to date with main
// when main has moved).
func (s *Server) searchSkills(ctx context.Context, st *registry.Store, intent string, th float64, limit int, instance string) ([]skillSummary, error) {
	ix, err := s.index(st)
	if err != nil {
		return nil, err
	}
	table, err := s.table(ctx, st)
	if err != nil {
		return nil, err
	}
	out := []skillSummary{}
	for _, r := range ix.Search(search.Query{Text: intent, Threshold: th, Limit: limit, Instance: instance}) {
		score, standing := r.Score, table.Skill(r.ID)
		out = append(out, skillSummary{ID: r.ID, Intent: r.Intent, InstanceID: r.InstanceID, Confidence: r.Confidence, VerificationScore: r.VerificationScore,
			Score: &score, Standing: &standing})
	}
	return out, nil
}

// index returns the search index of main: opened once, then brought up
// to date in memory when main moves (searches already running keep the
// index they have).
func (s *Server) index(st *registry.Store) (*search.Index, error) {
	head, err := st.Head()
	if err != nil {
		return nil, err
	}
	s.indexMu.Lock()
	defer s.indexMu.Unlock()
	if s.idx != nil && s.idx.Commit() == head {
		return s.idx, nil
	}
	open := search.OpenIndex
	if s.idx != nil {
		open = func(st *registry.Store) (*search.Index, error) { return s.idx.Update(st, head) }
	}
	ix, err := open(st)
	if err != nil {
		return nil, err
	}
	s.idx = ix
	return ix, nil
}

func intParam(v string, def, lo, hi int) int {
	n, err := strconv.Atoi(v)
	if err != nil {
		return def
	}
	return max(lo, min(n, hi))
}

// getSkill returns one skill: the trace, its id and signature (the seed's
// envelope fields), its lineage and the commit that introduced it.
func (s *Server) getSkill(w http.ResponseWriter, r *http.Request) {
	s.read(w, func(st *registry.Store) error {
		id, ok := skillID(w, r, st)
		if !ok {
			return nil
		}
		e, err := st.Trace(id)
		if err != nil {
			return err
		}
		intro, err := st.IntroducedContext(r.Context(), []schema.ID{id})
		if err != nil {
			return err
		}
		commit := ""
		if c, ok := intro[id]; ok {
			commit = c.Hash.String()
		}
		table, err := s.table(r.Context(), st)
		if err != nil {
			return err
		}
		s.writeJSON(w, http.StatusOK, map[string]any{
			"trace_id": id, "trace": json.RawMessage(e.Data), "signature": json.RawMessage(e.Bundle),
			"lineage": e.Trace.Lineage, "commit": commit, "standing": table.Skill(id),
		})
		return nil
	})
}

// read runs fn with a store borrowed for reading; an error fn returns is
// the server's (500), since fn answers the client's own faults itself.
func (s *Server) read(w http.ResponseWriter, fn func(st *registry.Store) error) {
	st, done, err := s.reader()
	if err != nil {
		writeError(w, http.StatusInternalServerError, "internal", err.Error(), nil)
		return
	}
	defer done()
	if err := fn(st); err != nil {
		if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
			return // the client went away: the work stopped, and no one reads an answer
		}
		s.opts.Log.Error("read", "err", err)
		writeError(w, http.StatusInternalServerError, "internal", err.Error(), nil)
	}
}

// instances lists the registered instances with their standing, from the
// reputation table of main (kept per main, not recomputed per request).
func (s *Server) instances(ctx context.Context, st *registry.Store) ([]trust.Instance, error) {
	keys, err := st.Keys()
	if err != nil {
		return nil, err
	}
	rot, err := st.Rotations()
	if err != nil {
		return nil, err
	}
	table, err := s.table(ctx, st)
	if err != nil {
		return nil, err
	}
	return trust.View(keys, rot, table), nil
}

// getInstances lists the registered instances: keys, counts, reputation.
func (s *Server) getInstances(w http.ResponseWriter, r *http.Request) {
	s.read(w, func(st *registry.Store) error {
		list, err := s.instances(r.Context(), st)
		if err != nil {
			return err
		}
		s.writeJSON(w, http.StatusOK, map[string]any{"instances": list})
		return nil
	})
}

// getInstance returns one instance with its key and reputation.
func (s *Server) getInstance(w http.ResponseWriter, r *http.Request) {
	s.read(w, func(st *registry.Store) error {
		list, err := s.instances(r.Context(), st)
		if err != nil {
			return err
		}
		i := slices.IndexFunc(list, func(in trust.Instance) bool { return in.ID == r.PathValue("id") })
		if i < 0 {
			writeError(w, http.StatusNotFound, "not_found", "no instance "+schema.Quote(r.PathValue("id"), 70), nil)
			return nil
		}
		s.writeJSON(w, http.StatusOK, list[i])
		return nil
	})
}

// getDisputes lists the disputes and their resolutions.
func (s *Server) getDisputes(w http.ResponseWriter, r *http.Request) {
	s.read(w, func(st *registry.Store) error {
		list, err := st.Disputes()
		if err != nil {
			return err
		}
		if list == nil {
			list = []registry.DisputeStatus{}
		}
		s.writeJSON(w, http.StatusOK, map[string]any{"disputes": list})
		return nil
	})
}

// healthz answers whether the served main is readable and the hive
// writable (503 "unwritable" when a write would fail: a full disk, a
// read-only folder).
func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	st, done, err := s.reader()
	if err != nil {
		writeError(w, http.StatusServiceUnavailable, "unavailable", err.Error(), nil)
		return
	}
	defer done()
	head, err := st.Head()
	if err != nil {
		writeError(w, http.StatusServiceUnavailable, "unavailable", err.Error(), nil)
		return
	}
	if err := st.Writable(); err != nil {
		writeError(w, http.StatusServiceUnavailable, "unwritable", err.Error(), nil)
		return
	}
	s.writeJSON(w, http.StatusOK, map[string]string{"status": "ok", "main": head.String()})
}
