package search

// defaultParams are the scoring parameters in use, fitted on the labelled
// set's dev split (docs/search.md gives the method and what each added).
var defaultParams = params{
	k1:     1.2,
	weight: [nFields]float64{fIntent: 1.1, fTags: 2, fActions: 0, fDetails: 1, fResult: 1},
	b:      [nFields]float64{fIntent: 0.9, fTags: 0.3, fActions: 0.5, fDetails: 0.13, fResult: 1},

	wn:     [wnKinds]float64{wnSynonym: 0.1, wnDerived: 0.6, wnHypernym: 0, wnSimilar: 0.3, wnHyponym: 0.13},
	wnRank: 1,
	abbrev: 0.9,
	lemma:  0.5,

	co:      0,
	coTerms: 5,
	coDocs:  200,

	prf:      0.1,
	prfDocs:  3,
	prfTerms: 10,

	candidates: 50,
	rerank:     true,
	cal:        calibrated,
}

// abbreviations are programming's common short forms, which WordNet does
// not know: a query word and the words it stands for.
var abbreviations = map[string][]string{
	"env": {"environment"}, "var": {"variable"}, "auth": {"authentication", "authorization"},
	"authn": {"authentication"}, "authz": {"authorization"}, "db": {"database"}, "config": {"configuration"},
	"cfg": {"configuration"}, "conf": {"configuration"}, "repo": {"repository"}, "dir": {"directory"},
	"k8s": {"kubernetes"}, "msg": {"message"}, "err": {"error"}, "arg": {"argument"}, "param": {"parameter"},
	"pwd": {"password"}, "passwd": {"password"}, "cred": {"credential"}, "creds": {"credentials"},
	"fn": {"function"}, "func": {"function"}, "img": {"image"}, "pic": {"picture"}, "doc": {"document"},
	"lib": {"library"}, "pkg": {"package"}, "app": {"application"}, "info": {"information"},
	"stats": {"statistics"}, "tmp": {"temporary"}, "temp": {"temporary"}, "max": {"maximum"}, "min": {"minimum"},
	"async": {"asynchronous"}, "sync": {"synchronous", "synchronize"}, "dev": {"development"}, "prod": {"production"},
	"ci": {"continuous", "integration"}, "cd": {"continuous", "delivery"}, "ui": {"interface"}, "cli": {"command", "line"},
	"cert": {"certificate"}, "certs": {"certificates"}, "ssl": {"tls"}, "tls": {"ssl"}, "js": {"javascript"},
	"ts": {"typescript"}, "py": {"python"}, "golang": {"go"}, "regex": {"regular", "expression"},
	"regexp": {"regular", "expression"}, "vm": {"virtual", "machine"}, "os": {"operating", "system"},
	"mem": {"memory"}, "ram": {"memory"}, "cpu": {"processor"}, "perf": {"performance"},
}

// calibrated is the calibration fitted on the dev split.
var calibrated = calibration{bias: -2.9103, w: [nFeatures]float64{0.7741, 1.9441, 0.6433, 0.5439, 1.0759, 3.6202}}
