package search

import (
	"slices"
	"sync"
)

// defaultParams are the scoring parameters in use, fitted on the labelled
// set's dev split (docs/search.md gives the method and what each added).
var defaultParams = params{
	k1:     1.6,
	weight: [nFields]float64{fIntent: 1.1, fTags: 4, fActions: 0, fDetails: 1, fResult: 0.3},
	b:      [nFields]float64{fIntent: 0.9, fTags: 0.6, fActions: 0.5, fDetails: 0.13, fResult: 0.5},

	wn:     [wnKinds]float64{wnSynonym: 0.2},
	wnRank: 1,
	abbrev: 1.8,
	lemma:  0,

	co:      0.2,
	coTerms: 5,
	coDocs:  50,

	prf:      0,
	prfDocs:  3,
	prfTerms: 10,

	tv:    0.1,
	tvMin: 0.6,
	tvK:   3,
	dense: true,

	intentOnly: 0.1,
	cohFloor:   0.2,

	candidates: 50,
	rerank:     true,
	model:      fittedRanker,
	cal:        calibrated,
}

// abbreviations are programming's common short forms, which WordNet does
// not know, and the words they stand for; a query's word reaches the other
// side either way (env -> environment, environments -> env).
var abbreviations = map[string][]string{
	"env": {"environment"}, "var": {"variable"}, "auth": {"authentication", "authorization"},
	"authn": {"authentication"}, "authz": {"authorization"}, "db": {"database"}, "config": {"configuration"},
	"cfg": {"configuration"}, "conf": {"configuration"}, "repo": {"repository"}, "dir": {"directory"},
	"k8s": {"kubernetes"}, "msg": {"message"}, "arg": {"argument"}, "param": {"parameter"},
	"pwd": {"password"}, "passwd": {"password"}, "cred": {"credential"}, "creds": {"credentials"},
	"fn": {"function"}, "func": {"function"}, "img": {"image"}, "pic": {"picture"}, "doc": {"document"},
	"lib": {"library"}, "pkg": {"package"}, "app": {"application"}, "info": {"information"},
	"stats": {"statistics"}, "tmp": {"temporary"}, "temp": {"temporary"}, "max": {"maximum"}, "min": {"minimum"},
	"async": {"asynchronous"}, "sync": {"synchronous", "synchronize"}, "dev": {"development"}, "prod": {"production"},
	"ui":   {"interface"},
	"cert": {"certificate"}, "certs": {"certificates"}, "ssl": {"tls"}, "tls": {"ssl"}, "js": {"javascript"},
	"ts": {"typescript"}, "py": {"python"}, "golang": {"go"}, "regex": {"regexp"},
	"mem": {"memory"}, "ram": {"memory"}, "cpu": {"processor"}, "perf": {"performance"},
}

// fittedRanker is the ranker fitted on the dev split (TestFitRanker).
var fittedRanker = ranker{w: [nFeatures]float64{1.4390, 3.3259, 1.5288, 1.2676, 1.4056, 0.0000, 0.9034, 0.5857, 0.0000, 0.0000, 1.2863, 2.4782, 1.9291, 3.4560, 3.9427}}

// calibrated is the calibration fitted on the dev split, out of fold
// (TestFitRanker).
var calibrated = calibration{bias: -4.6489, score: 0.2654, lead: 0.7655}

var (
	abbrevOnce sync.Once
	abbrevMap  map[string][]string
)

// abbreviationsOf maps the term of a word to the words it abbreviates or
// that abbreviate it.
func abbreviationsOf() map[string][]string {
	abbrevOnce.Do(func() {
		abbrevMap = map[string][]string{}
		for short, longs := range abbreviations {
			ts := term(short)
			for _, l := range longs {
				abbrevMap[ts] = append(abbrevMap[ts], l)
				tl := term(l)
				abbrevMap[tl] = append(abbrevMap[tl], short)
			}
		}
		for t := range abbrevMap {
			slices.Sort(abbrevMap[t])
			abbrevMap[t] = slices.Compact(abbrevMap[t])
		}
	})
	return abbrevMap
}
