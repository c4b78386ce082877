// Package trust decides which skills of a hive an instance may reuse: the
// reputation of each instance, computed from the hive's history (the seed's
// ReputationManager), the instance's own trust policy (kept in its git
// config, never in the hive), and Resolve, which picks the best trusted
// skill for an intent.
package trust

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"

	"github.com/hive-dev/hive/registry"
	"github.com/hive-dev/hive/schema"
	"github.com/hive-dev/hive/search"
)

// The seed's reputation rule: every instance starts neutral; each event
// moves its reputation to Keep times the old value plus (1-Keep) times the
// event's quality; an instance is trusted from Trusted on.
const (
	Start   = 0.5
	Keep    = 0.9
	Trusted = 0.8
)

// Event is one thing that moves an instance's reputation, in history order.
type Event struct {
	Commit   string    // the commit it happened in
	Trace    schema.ID // the trace it concerns
	Instance string    // whose reputation it moves
	Quality  float64   // in [0,1]
	Upheld   bool      // an upheld dispute against Trace (Quality 0), not a new trace
}

// Quality is what one trace says of its author: the mean of its confidence
// and its verification score, in [0,1].
func Quality(confidence, verification float64) float64 {
	return (confidence + verification) / 2
}

// UpheldDispute is the event of a dispute upheld against an instance's
// trace: quality 0, so the author's reputation drops to Keep times what it
// was. Disputes resolved against a trace enter the history at the commit of
// their resolution (the seam for dispute records).
func UpheldDispute(commit string, trace schema.ID, author string) Event {
	return Event{Commit: commit, Trace: trace, Instance: author, Quality: 0, Upheld: true}
}

// Standing is an instance's reputation.
type Standing struct {
	Instance   string  `json:"instance_id"`
	Reputation float64 `json:"reputation"`
	Trusted    bool    `json:"trusted"`
	Traces     int     `json:"traces"`
	Upheld     int     `json:"upheld_disputes"`
}

// Table is the reputation of every instance that has events.
type Table struct {
	byInstance map[string]*Standing
}

// Compute applies events in order, from Start.
func Compute(events []Event) *Table {
	t := &Table{byInstance: map[string]*Standing{}}
	for _, e := range events {
		st := t.byInstance[e.Instance]
		if st == nil {
			st = &Standing{Instance: e.Instance, Reputation: Start}
			t.byInstance[e.Instance] = st
		}
		st.Reputation = Keep*st.Reputation + (1-Keep)*e.Quality
		if e.Upheld {
			st.Upheld++
		} else {
			st.Traces++
		}
	}
	for _, st := range t.byInstance {
		st.Trusted = st.Reputation >= Trusted
	}
	return t
}

// Of returns the standing of instance; one with no events is neutral.
func (t *Table) Of(instance string) Standing {
	if st, ok := t.byInstance[instance]; ok {
		return *st
	}
	return Standing{Instance: instance, Reputation: Start, Trusted: Start >= Trusted}
}

// All lists every instance with events, by instance id.
func (t *Table) All() []Standing {
	out := make([]Standing, 0, len(t.byInstance))
	for _, st := range t.byInstance {
		out = append(out, *st)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Instance < out[j].Instance })
	return out
}

// Events lists the events of main's history: one per trace, in the order
// of registry.Store.History (parents first, ties by commit hash) and, within
// a commit, by id (the order of their paths). Scores come from ix, the index
// of main; a trace no longer on main is read from the commit that added it.
// A trace removed by a resolved dispute counts against its author once more,
// at the resolution's commit (UpheldDispute).
func Events(s *registry.Store, ix *search.Index) ([]Event, error) {
	return EventsContext(context.Background(), s, ix)
}

// EventsContext is Events that stops when ctx ends, with ctx's error.
func EventsContext(ctx context.Context, s *registry.Store, ix *search.Index) ([]Event, error) {
	hist, err := s.HistoryContext(ctx)
	if err != nil {
		return nil, err
	}
	var out []Event
	author := map[schema.ID]string{}
	for _, c := range hist {
		var missing []schema.ID
		for _, id := range c.Added {
			if _, ok := ix.Skill(id); !ok {
				missing = append(missing, id)
			}
		}
		gone := map[schema.ID]Event{}
		if len(missing) > 0 {
			got := make([]Event, len(missing))
			err := s.TraceFilesContext(ctx, c.Hash, missing, func(i int, data []byte) error {
				var t struct {
					Confidence        float64 `json:"confidence"`
					VerificationScore float64 `json:"verification_score"`
					InstanceID        string  `json:"instance_id"`
				}
				if err := json.Unmarshal(data, &t); err != nil {
					return fmt.Errorf("trace %s: %w", missing[i], err)
				}
				got[i] = Event{Instance: t.InstanceID, Quality: Quality(t.Confidence, t.VerificationScore)}
				return nil
			})
			if err != nil {
				return nil, err
			}
			for i, id := range missing {
				gone[id] = got[i]
			}
		}
		for _, id := range c.Added {
			e, ok := gone[id]
			if r, inIndex := ix.Skill(id); inIndex {
				e, ok = Event{Instance: r.InstanceID, Quality: Quality(r.Confidence, r.VerificationScore)}, true
			}
			if !ok {
				continue
			}
			e.Commit, e.Trace = c.Hash.String(), id
			author[id] = e.Instance
			out = append(out, e)
		}
		for _, id := range c.Removed {
			if a, ok := author[id]; ok {
				out = append(out, UpheldDispute(c.Hash.String(), id, a))
			}
		}
	}
	return out, nil
}

// Reputation computes the reputation table of s's main.
func Reputation(s *registry.Store, ix *search.Index) (*Table, error) {
	return ReputationContext(context.Background(), s, ix)
}

// ReputationContext is Reputation that stops when ctx ends, with ctx's
// error.
func ReputationContext(ctx context.Context, s *registry.Store, ix *search.Index) (*Table, error) {
	events, err := EventsContext(ctx, s, ix)
	if err != nil {
		return nil, err
	}
	return Compute(events), nil
}
