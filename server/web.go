package server

import (
	"html/template"
	"net/http"

	"github.com/hive-dev/hive/search"
)

// The web pages: a list of skills with a search box, and a page per skill.
// html/template escapes everything a skill holds.
var pages = template.Must(template.New("").Parse(`
{{define "head"}}<!doctype html><html><head><meta charset="utf-8"><title>{{.}} - hive</title>
<style>body{font:15px/1.5 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem}pre{background:#f4f4f4;padding:1rem;overflow:auto}
td,th{text-align:left;padding:.2rem .6rem}code{font-size:13px}</style></head><body>{{end}}
{{define "index"}}{{template "head" "skills"}}<h1>Skills</h1>
<form action="/" method="get"><input name="intent" size="50" value="{{.Intent}}" placeholder="what do you need to do?"> <button>search</button></form>
<p>{{.Total}} skills{{if .Intent}}; {{len .Skills}} match {{printf "%q" .Intent}}{{end}}</p>
<table><tr><th>intent</th><th>instance</th><th>confidence</th>{{if .Intent}}<th>score</th>{{end}}</tr>
{{range .Skills}}<tr><td><a href="/web/skills/{{.ID}}">{{.Intent}}</a></td><td>{{.InstanceID}}</td><td>{{.Confidence}}</td>{{if .Score}}<td>{{printf "%.2f" .Score}}</td>{{end}}</tr>
{{end}}</table></body></html>{{end}}
{{define "skill"}}{{template "head" .Trace.Intent}}<p><a href="/">all skills</a></p><h1>{{.Trace.Intent}}</h1>
<p><code>{{.ID}}</code><br>instance {{.Trace.InstanceID}}, created {{.Trace.CreatedAt}}, confidence {{.Trace.Confidence}}, verification {{.Trace.VerificationScore}}</p>
{{if .Trace.Lineage}}<p>derived from: {{range .Trace.Lineage}}<a href="/web/skills/{{.}}"><code>{{.}}</code></a> {{end}}</p>{{end}}
<h2>Reasoning</h2><ol>{{range .Trace.ReasoningPath}}<li>{{.Action}}{{if .Detail}}<br><small>{{.Detail}}</small>{{end}}</li>{{end}}</ol>
<h2>Result</h2><pre>{{.Trace.Result}}</pre></body></html>{{end}}`))

func (s *Server) webIndex(w http.ResponseWriter, r *http.Request) {
	st, done, err := s.reader()
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	defer done()
	ids, err := st.TraceIDs()
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	intent := r.URL.Query().Get("intent")
	var skills []skillSummary
	if intent != "" {
		skills, err = s.searchSkills(r.Context(), st, intent, search.DefaultThreshold, 100, "")
	} else {
		for _, id := range ids[:min(len(ids), 100)] {
			e, rerr := st.Trace(id)
			if rerr != nil {
				err = rerr
				break
			}
			skills = append(skills, summary(e))
		}
	}
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	pages.ExecuteTemplate(w, "index", map[string]any{"Intent": intent, "Total": len(ids), "Skills": skills})
}

func (s *Server) webSkill(w http.ResponseWriter, r *http.Request) {
	st, done, err := s.reader()
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	defer done()
	id, err := st.ResolveID(r.PathValue("id"))
	if err != nil {
		http.Error(w, "no such skill", http.StatusNotFound)
		return
	}
	e, err := st.Trace(id)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	pages.ExecuteTemplate(w, "skill", e)
}
