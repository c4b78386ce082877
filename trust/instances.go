package trust

import "github.com/hive-dev/hive/registry"

// Instance is a registered instance: its key and its standing (Traces
// from the table of main).
type Instance struct {
	registry.Instance
	Rotations      int     `json:"rotations"` // how many times its key was replaced
	Reputation     float64 `json:"reputation"`
	Vouched        bool    `json:"vouched"` // see Standing.Vouched
	Successes      int     `json:"successes"`
	Failures       int     `json:"failures"`
	UpheldDisputes int     `json:"upheld_disputes"`
	Quality        float64 `json:"claimed_quality"`
	Weight         float64 `json:"witness_weight"`
}

// Instances lists the instances registered on main with their keys and
// standing, from the table of main (see Reputation: not a walk of the
// history); the table is returned too.
func Instances(s *registry.Store) ([]Instance, *Table, error) {
	keys, err := s.Keys()
	if err != nil {
		return nil, nil, err
	}
	rot, err := s.Rotations()
	if err != nil {
		return nil, nil, err
	}
	t, err := Reputation(s)
	if err != nil {
		return nil, nil, err
	}
	return View(keys, rot, t), t, nil
}

// View joins registered keys and their rotation counts with their
// standing in t.
func View(keys []registry.Instance, rotations map[string]int, t *Table) []Instance {
	out := make([]Instance, 0, len(keys))
	for _, k := range keys {
		st := t.Of(k.ID)
		k.Traces = st.Traces
		out = append(out, Instance{Instance: k, Rotations: rotations[k.ID], Reputation: st.Reputation, Vouched: st.Vouched && !k.Revoked,
			Successes: st.Successes, Failures: st.Failures, UpheldDisputes: st.Upheld, Quality: st.Quality, Weight: st.Weight})
	}
	return out
}
