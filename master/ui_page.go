package master

import (
	"encoding/json"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"

	"github.com/glocust/glocust/master/webui"
	"github.com/glocust/glocust/stats"
)

// The dashboard page: index.html with the page's settings, and its files.

// uiCSP is the page's Content-Security-Policy: only its own files, no
// inline script or style, no framing.
const uiCSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; " +
	"connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"

// uiBoot is the page's settings, as Locust's template_args: what does not
// change during the master's life, and the state when the page loads.
type uiBoot struct {
	Version           string         `json:"version"`
	Locustfile        string         `json:"locustfile"`
	Host              string         `json:"host"`
	State             string         `json:"state"`
	Distributed       bool           `json:"is_distributed"`
	NumUsers          *int           `json:"num_users"`
	SpawnRate         *float64       `json:"spawn_rate"`
	RunTime           string         `json:"run_time"`
	Profile           string         `json:"profile"`
	ClassPicker       bool           `json:"show_userclass_picker"`
	Classes           []uiClass      `json:"user_classes"`
	Picked            []string       `json:"picked_classes"`
	Shape             *uiShape       `json:"shape"`
	Columns           []string       `json:"columns"`
	PercentilesChart  []float64      `json:"percentiles_to_chart"`
	PercentilesStats  []float64      `json:"percentiles_to_statistics"`
	HistoryPcts       []float64      `json:"history_percentiles"`
	IntervalMS        int64          `json:"update_interval_ms"`
	HistoryPoints     int            `json:"history_points"`
	LatencyCorrection bool           `json:"latency_correction"`
	Uncorrected       bool           `json:"uncorrected"`
	HistoryCSV        bool           `json:"stats_history_enabled"`
	Metrics           bool           `json:"metrics"`
	Login             bool           `json:"login"`
	Thresholds        bool           `json:"thresholds"`
	Tasks             map[string]any `json:"tasks"`
	Params            []uiParam      `json:"params"`
}

// uiParam is a custom parameter of the scenario for the start form: set
// says the workers are sent value (else it is their default, which the
// form sends only when changed).
type uiParam struct {
	Name  string `json:"name"`
	Value string `json:"value"`
	Set   bool   `json:"set"`
}

type uiClass struct {
	Name       string `json:"name"`
	Weight     int    `json:"weight"`
	FixedCount int    `json:"fixed_count"`
}

type uiShape struct {
	Name             string `json:"name"`
	UseCommonOptions bool   `json:"use_common_options"`
}

// page serves the dashboard at the base path.
func (d *dashboard) page(rw http.ResponseWriter, r *http.Request) {
	cfg := d.cfg
	boot := uiBoot{Version: cfg.Version, Locustfile: cfg.Locustfile, Distributed: cfg.Distributed,
		NumUsers: cfg.NumUsers, SpawnRate: cfg.SpawnRate, RunTime: cfg.RunTime, Profile: d.profile(),
		ClassPicker: cfg.ClassPicker, Columns: uiRowColumns(cfg.Uncorrected != nil),
		PercentilesChart: stats.PercentilesToChart, PercentilesStats: stats.PercentilesToStatistics,
		HistoryPcts: uiPercentiles(), IntervalMS: d.interval.Milliseconds(), HistoryPoints: uiHistoryPoints,
		LatencyCorrection: cfg.LatencyCorrection, Uncorrected: cfg.Uncorrected != nil,
		HistoryCSV: cfg.HistoryCSV != "", Metrics: cfg.Metrics != nil, Login: cfg.Login}
	d.m.Do(func(v *View) {
		boot.Host, boot.State = v.Host(), v.State()
		for _, c := range v.RunClasses() {
			boot.Classes = append(boot.Classes, uiClass{Name: c.Name, Weight: c.Weight, FixedCount: c.FixedCount})
		}
		boot.Picked = v.PickedClasses()
		if info, ok := v.Shape(); ok {
			boot.Shape = &uiShape{Name: info.Name, UseCommonOptions: info.UseCommonOptions}
		}
		boot.Thresholds = len(v.c.cfg.Thresholds) > 0
		boot.Tasks = TasksJSON(v)
		boot.Params = []uiParam{}
		for _, p := range v.Params() {
			boot.Params = append(boot.Params, uiParam{Name: p.Name, Value: p.Value, Set: p.Set})
		}
	})
	js, err := json.Marshal(boot) // escapes <, > and &: safe inside <script>
	if err != nil {
		http.Error(rw, err.Error(), http.StatusInternalServerError)
		return
	}
	body := strings.NewReplacer("{{BOOT}}", string(js), "{{VERSION}}", webui.Version).Replace(webui.Index)
	h := rw.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Security-Policy", uiCSP)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	rw.Write([]byte(body))
}

// asset serves ui/{file}: one of the page's files, revalidated by its
// entity tag.
func (d *dashboard) asset(rw http.ResponseWriter, r *http.Request) {
	name := r.PathValue("file")
	tag, ok := webui.ETags[name]
	if !ok || name == "index.html" {
		http.NotFound(rw, r)
		return
	}
	h := rw.Header()
	h.Set("ETag", tag)
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Content-Type-Options", "nosniff")
	if r.Header.Get("If-None-Match") == tag {
		rw.WriteHeader(http.StatusNotModified)
		return
	}
	b, err := fs.ReadFile(webui.FS, name)
	if err != nil {
		http.NotFound(rw, r)
		return
	}
	ctype := mime.TypeByExtension(path.Ext(name))
	if strings.HasSuffix(name, ".js") {
		ctype = "text/javascript; charset=utf-8"
	}
	h.Set("Content-Type", ctype)
	rw.Write(b)
}

// slashRedirect sends the base path without its slash to the page. The
// Location is relative (the last segment and a slash), so a proxy that
// keeps that segment may put any prefix before it; a proxy that renames
// it says its prefix in X-Forwarded-Prefix.
func slashRedirect(rw http.ResponseWriter, r *http.Request) {
	to := path.Base(r.URL.Path) + "/"
	if p := r.Header.Get("X-Forwarded-Prefix"); strings.HasPrefix(p, "/") && !strings.HasPrefix(p, "//") {
		to = strings.TrimRight(p, "/") + "/"
	}
	rw.Header().Set("Location", to)
	rw.WriteHeader(http.StatusSeeOther)
}
