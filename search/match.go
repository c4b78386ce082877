package search

import (
	"errors"
	"fmt"

	"github.com/hive-dev/hive/schema"
)

// Subscription says which skills of another hive an instance wants
// (hive pull --intent): those whose intent is like Intent, and meet the
// other bounds.
type Subscription struct {
	Intent        string  // words to match; required
	Threshold     float64 // the least similarity to Intent, in [0,1]
	MinConfidence float64 // the least confidence
	Instance      string  // only skills of this instance, if set
}

// ErrNoWords reports a subscription whose intent has no word to match.
var ErrNoWords = errors.New("the intent has no words to match")

// Matcher returns the test of a subscription: whether a skill is wanted
// and, when it is not, why (for the report), as registry.PullMatching
// takes it.
func Matcher(sub Subscription) (func(t *schema.Trace) (ok bool, reason string), error) {
	if len(Tokens(sub.Intent)) == 0 {
		return nil, ErrNoWords
	}
	if sub.Threshold < 0 || sub.Threshold > 1 {
		return nil, fmt.Errorf("threshold %g does not lie in [0,1]", sub.Threshold)
	}
	return func(t *schema.Trace) (bool, string) {
		switch score := Similarity(sub.Intent, t); {
		case sub.Instance != "" && t.InstanceID != sub.Instance:
			return false, "another instance"
		case t.Confidence < sub.MinConfidence:
			return false, fmt.Sprintf("confidence %g below %g", t.Confidence, sub.MinConfidence)
		case score < sub.Threshold:
			return false, fmt.Sprintf("similarity %.2f below %.2f", score, sub.Threshold)
		}
		return true, ""
	}, nil
}
