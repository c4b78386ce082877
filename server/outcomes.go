package server

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"github.com/go-git/go-git/v5/plumbing"

	"github.com/hive-dev/hive/registry"
	"github.com/hive-dev/hive/schema"
	"github.com/hive-dev/hive/trust"
)

// postOutcome is POST /skills/{id}/outcomes: an instance's signed report
// that it reused the skill and whether it worked (an outcome envelope, as
// `hive outcome --export` writes it), committed when it passes every rule.
func (s *Server) postOutcome(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, registry.MaxOutcomeEnvelopeSize))
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge):
		writeError(w, http.StatusRequestEntityTooLarge, "too_large", "the outcome is over "+strconv.Itoa(registry.MaxOutcomeEnvelopeSize)+" bytes", nil)
		return
	case err != nil:
		writeError(w, http.StatusBadRequest, "unreadable", "the request body could not be read: "+err.Error(), nil)
		return
	}
	env, err := registry.ParseOutcomeEnvelope(body)
	if err != nil {
		writeError(w, http.StatusBadRequest, "invalid", "the outcome breaks the hive's rules", []string{err.Error()})
		return
	}
	if !writeAs(w, r, env.Outcome.InstanceID) {
		return // a token writes only as its instance
	}
	// {id} is a full id or, as on the other routes, a unique prefix of
	// one on main (a full id not on main is the import's to refuse).
	id := schema.ID("sha256:" + strings.TrimPrefix(strings.ToLower(r.PathValue("id")), "sha256:"))
	if _, err := schema.ParseID(string(id)); err != nil {
		var ok bool
		if id, ok = skillID(w, r, s.writer); !ok {
			return
		}
	}
	if id != env.Outcome.Trace {
		writeError(w, http.StatusBadRequest, "invalid", "the outcome is about another skill",
			[]string{"the outcome is about " + string(env.Outcome.Trace) + ", posted to " + string(id)})
		return
	}
	if err := r.Context().Err(); err != nil {
		writeError(w, http.StatusServiceUnavailable, "busy", "the request ended before the outcome was stored", nil)
		return
	}
	s.writeMu.Lock()
	commit, err := s.writer.ImportOutcome(env)
	s.writeMu.Unlock()
	reasons := []string{}
	if err != nil {
		reasons = append(reasons, err.Error())
	}
	switch {
	case err == nil:
		s.writeJSON(w, http.StatusCreated, map[string]string{"trace_id": string(env.Outcome.Trace), "reporter": env.Outcome.InstanceID,
			"outcome": env.Outcome.Outcome, "commit": commit.String(), "status": "accepted"})
	case errors.Is(err, registry.ErrExists):
		writeError(w, http.StatusConflict, "exists", "this instance already reported an outcome of this skill", reasons)
	case errors.Is(err, registry.ErrUnauthorised):
		writeError(w, http.StatusForbidden, "unknown_key", "the reporter has no registered key, or it is revoked", reasons)
	case errors.Is(err, registry.ErrNotFound):
		writeError(w, http.StatusNotFound, "not_found", "no such skill on main", reasons)
	case errors.Is(err, registry.ErrConflict):
		writeError(w, http.StatusServiceUnavailable, "busy", "the hive moved during the write; try again", reasons)
	case errors.Is(err, registry.ErrInvalid):
		writeError(w, http.StatusBadRequest, "invalid", "the outcome breaks the hive's rules", reasons)
	default:
		s.opts.Log.Error("post outcome", "err", err)
		writeError(w, http.StatusInternalServerError, "internal", "the outcome could not be stored", nil)
	}
}

// skillID resolves the request's {id} (a full id or a unique prefix) to a
// skill on main, or answers 400 or 404 and reports false.
func skillID(w http.ResponseWriter, r *http.Request, st *registry.Store) (schema.ID, bool) {
	id, err := st.ResolveID(strings.ToLower(r.PathValue("id"))) // ids are lower case; people may type them otherwise
	if err != nil {
		code, c := http.StatusNotFound, "not_found"
		if errors.Is(err, registry.ErrInvalid) || !errors.Is(err, registry.ErrNotFound) && strings.Contains(err.Error(), "ambiguous") {
			code, c = http.StatusBadRequest, "invalid"
		}
		writeError(w, code, c, err.Error(), nil)
		return "", false
	}
	return id, true
}

// getOutcomes is GET /skills/{id}/outcomes: the outcomes reported of a
// skill, with its standing.
func (s *Server) getOutcomes(w http.ResponseWriter, r *http.Request) {
	s.read(w, func(st *registry.Store) error {
		id, ok := skillID(w, r, st)
		if !ok {
			return nil
		}
		list, err := st.Outcomes(id)
		if err != nil {
			return err
		}
		if list == nil {
			list = []*schema.Outcome{}
		}
		t, err := s.table(r.Context(), st)
		if err != nil {
			return err
		}
		s.writeJSON(w, http.StatusOK, map[string]any{"trace_id": id, "standing": t.Skill(id), "outcomes": list})
		return nil
	})
}

// table returns the reputation table of main, recomputed when main moved
// (incrementally: trust.Reputation keeps a ledger per main).
func (s *Server) table(ctx context.Context, st *registry.Store) (*trust.Table, error) {
	if err := ctx.Err(); err != nil {
		return nil, err // the client went away: no work, no answer
	}
	return perMain(&s.tableMu, &s.trust, st, func(st *registry.Store) (*trust.Table, error) { return trust.ReputationContext(ctx, st) })
}

// perMain returns *slot when it reflects st's main, else what open makes of
// st, kept in *slot: derived data the server keeps for the current main.
func perMain[T interface {
	comparable
	Commit() plumbing.Hash
}](mu *sync.Mutex, slot *T, st *registry.Store, open func(*registry.Store) (T, error)) (T, error) {
	var zero T
	head, err := st.Head()
	if err != nil {
		return zero, err
	}
	mu.Lock()
	defer mu.Unlock()
	if v := *slot; v != zero && v.Commit() == head {
		return v, nil
	}
	v, err := open(st)
	if err != nil {
		return zero, err
	}
	*slot = v
	return v, nil
}

// nearDuplicates lists, as one line each, the warnings about a skill just
// posted: traces on main it is nearly identical to. A failure to compute
// them is logged, never the client's error.
func (s *Server) nearDuplicates(ctx context.Context, id schema.ID) []string {
	st, done, err := s.reader()
	if err != nil {
		return nil
	}
	defer done()
	ix, err := s.index(st)
	if err == nil && ctx.Err() == nil {
		var dups []trust.Duplicate
		if dups, err = trust.NearDuplicates(st, ix, []schema.ID{id}); err == nil {
			var out []string
			for _, d := range dups {
				out = append(out, d.Message())
			}
			return out
		}
	}
	if err != nil {
		s.opts.Log.Warn("near duplicates", "trace", id, "err", err)
	}
	return nil
}
