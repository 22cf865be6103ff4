package master

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/glocust/glocust/internal/timespan"
	"github.com/glocust/glocust/master/report"
	"github.com/glocust/glocust/protocol"
	"github.com/glocust/glocust/shape"
	"github.com/glocust/glocust/stats"
)

// WebConfig configures the HTTP API.
type WebConfig struct {
	// BasePath is --web-base-path ("" or "/prefix").
	BasePath string
	// Headless serves only glocust's own endpoints, /metrics, /healthz,
	// /shape and /thresholds (Locust serves nothing in headless mode).
	Headless bool
	// Locustfile names the scenario in download file names and the report.
	Locustfile string
	// HistoryCSV is the --csv-full-history file, served by
	// /stats/requests_full_history/csv ("" = 404, as Locust).
	HistoryCSV string
	// Metrics serves GET /metrics; nil disables it.
	Metrics http.Handler
	// MasterLogs returns the master's own recent log lines for /logs (nil:
	// none).
	MasterLogs func() []string
	// ClassPicker is --class-picker: POST /swarm may select the user
	// classes of the run (its repeated user_classes field).
	ClassPicker bool

	// The dashboard (the page at the base path, dashboard.go):

	// UpdateInterval is its live update period (0: DefaultUIInterval).
	UpdateInterval time.Duration
	// Version is shown in its footer.
	Version string
	// NumUsers, SpawnRate and RunTime fill its start form (-u, -r, -t;
	// nil and "": not given).
	NumUsers  *int
	SpawnRate *float64
	RunTime   string
	// Profile is --profile (a POST /swarm's profile replaces it).
	Profile string
	// Distributed: workers connect over the network (--master), so the
	// page has a Workers tab.
	Distributed bool
	// LatencyCorrection is --latency-correction; Uncorrected, when the
	// uncorrected copy of the latencies is at hand (standalone mode),
	// calls fn with it (fn must not keep it), so the table shows both.
	// runStart is the current test's start: a new one starts the copy
	// over, as the master's stats do.
	LatencyCorrection bool
	Uncorrected       func(runStart time.Time, fn func(*stats.Aggregate))
	// Login: a login protects the port (the page offers to log out).
	Login bool
}

// Web serves Locust's HTTP API over a Master.
type Web struct {
	m   *Master
	cfg WebConfig
	mux *http.ServeMux

	ui *dashboard // nil when headless

	mu      sync.Mutex
	runTime *time.Timer
}

// NewWeb returns the HTTP handler for m.
func NewWeb(m *Master, cfg WebConfig) *Web {
	w := &Web{m: m, cfg: cfg, mux: http.NewServeMux()}
	bp := strings.TrimRight(cfg.BasePath, "/")
	h := func(path string, fn http.HandlerFunc) { w.mux.HandleFunc(bp+path, fn) }
	h("/healthz", w.healthz)
	if cfg.Metrics != nil {
		w.mux.Handle(bp+"/metrics", cfg.Metrics)
	}
	h("/shape", w.shape)
	h("/thresholds", w.thresholds)
	h("/worker-health", w.workerHealth)
	if cfg.Headless {
		return w
	}
	w.ui = newDashboard(m, &w.cfg)
	h("/{$}", w.ui.page)
	if bp != "" {
		w.mux.HandleFunc(bp, slashRedirect)
	}
	h("/ui/events", w.ui.events)
	h("/ui/endpoint", w.ui.endpoint)
	h("/ui/cost", w.ui.costJSON)
	h("/ui/runs/{id}/report", w.ui.runReport)
	h("/ui/{file}", w.ui.asset)
	h("/swarm", w.swarm)
	h("/stop", w.stop)
	h("/stats/reset", w.reset)
	h("/stats/requests", w.requests)
	h("/stats/requests/csv", w.csv("requests", func(v *View, b io.Writer) error { return report.StatsCSV(b, v.Stats()) }))
	h("/stats/failures/csv", w.csv("failures", func(v *View, b io.Writer) error { return report.FailuresCSV(b, v.Stats()) }))
	h("/exceptions/csv", w.csv("exceptions", func(v *View, b io.Writer) error { return report.ExceptionsCSV(b, v.Exceptions()) }))
	h("/stats/requests_full_history/csv", w.fullHistory)
	h("/exceptions", w.exceptions)
	h("/stats/report", w.report)
	h("/tasks", w.tasks)
	h("/worker-count", w.workerCount)
	h("/logs", w.logs)
	h("/user", w.updateUser)
	return w
}

// ServeHTTP adds CORS headers and answers preflights.
func (w *Web) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	rw.Header().Set("Access-Control-Allow-Origin", "*")
	if r.Method == http.MethodOptions {
		rw.Header().Set("Access-Control-Allow-Methods", "GET, POST, OPTIONS")
		rw.Header().Set("Access-Control-Allow-Headers", "*")
		rw.WriteHeader(http.StatusNoContent)
		return
	}
	w.mux.ServeHTTP(rw, r)
}

// Close cancels a pending /swarm run_time timer and stops the dashboard
// (its pages' streams end).
func (w *Web) Close() {
	w.cancelRunTime()
	if w.ui != nil {
		w.ui.close()
	}
}

func writeJSON(rw http.ResponseWriter, v any) {
	rw.Header().Set("Content-Type", "application/json")
	enc := json.NewEncoder(rw)
	_ = enc.Encode(v)
}

func (w *Web) healthz(rw http.ResponseWriter, r *http.Request) {
	var state string
	var workers int
	var run Run
	w.m.Do(func(v *View) { state, workers, run = v.State(), v.WorkerCount(), v.Run() })
	writeJSON(rw, map[string]any{"status": "ok", "state": state, "worker_count": workers, "run_id": run.ID, "profile": run.Profile})
}

func (w *Web) swarm(rw http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		http.Error(rw, "Method Not Allowed", http.StatusMethodNotAllowed)
		return
	}
	if err := r.ParseForm(); err != nil {
		http.Error(rw, err.Error(), http.StatusBadRequest)
		return
	}
	var host string
	w.m.Do(func(v *View) { host = v.Host() })
	fail := func(msg string) {
		writeJSON(rw, map[string]any{"success": false, "message": msg, "host": host})
	}
	var users *int
	var rate *float64
	var runTime time.Duration
	var picked []string
	var params map[string]string // the scenario's parameters the form sets
	if w.cfg.ClassPicker {
		var err error
		if picked, err = w.m.PickClasses(r.PostForm["user_classes"]); err != nil {
			fail(err.Error())
			return
		}
	}
	for key := range r.PostForm {
		val := r.PostForm.Get(key)
		switch key {
		case "user_count":
			n, err := strconv.Atoi(strings.TrimSpace(val))
			if err != nil {
				fail(fmt.Sprintf("Invalid user_count value: %q (must be an integer)", val))
				return
			}
			users = &n
		case "spawn_rate":
			f, err := strconv.ParseFloat(strings.TrimSpace(val), 64)
			if err != nil {
				fail(fmt.Sprintf("Invalid spawn_rate value: %q (must be a number)", val))
				return
			}
			rate = &f
		case "host":
			host = strings.NewReplacer("<", "", ">", "").Replace(val)
			w.m.SetHost(host)
		case "profile": // Locust sets environment.profile (run.go); the start form shows it
			w.m.SetProfile(val)
			w.ui.setProfile(val)
		case "run_time":
			if val == "" {
				continue
			}
			d, err := timespan.Parse(val)
			if err != nil {
				fail("Valid run_time formats are : 20, 20s, 3m, 2h, 1h20m, 3h30m10s, etc.")
				return
			}
			runTime = d
		default: // as Locust: a key naming a custom parameter sets it; other keys are ignored
			if w.m.isParam(key) {
				if params == nil {
					params = map[string]string{}
				}
				params[key] = val
			}
		}
	}
	w.cancelRunTime()
	if name, ok := w.shapeFor(r); ok {
		// As Locust: with a shape class the form's users, rate and run
		// time only reach a shape that reads them (use_common_options).
		common := shape.Common{RunTime: runTime}
		if users != nil {
			common.Users, common.UsersSet = *users, true
		}
		if rate != nil {
			common.SpawnRate, common.SpawnRateSet = *rate, true
		}
		if err := w.m.SetParams(params); err != nil {
			fail(err.Error())
			return
		}
		w.m.StartShape(common)
		writeJSON(rw, map[string]any{"success": true, "host": host,
			"message": fmt.Sprintf("Swarming started using shape class '%s'", name)})
		return
	} else if name != "" {
		fail(fmt.Sprintf("Unknown shape class %q (the master's is %q)", r.PostForm.Get("shape_class"), name))
		return
	}
	if users == nil || *users < 0 || rate == nil || *rate <= 0 || math.IsInf(*rate, 0) || math.IsNaN(*rate) {
		fail("Missing or invalid user_count or spawn_rate from /swarm request")
		return
	}
	if err := w.m.SetParams(params); err != nil {
		fail(err.Error())
		return
	}
	if err := w.m.Start(*users, *rate); err != nil {
		fail(err.Error())
		return
	}
	resp := map[string]any{"success": true, "message": "Swarming started", "host": host}
	if w.cfg.ClassPicker {
		resp["user_classes"] = picked
	}
	if runTime > 0 {
		resp["run_time"] = int64(runTime / time.Second)
		w.mu.Lock()
		w.runTime = time.AfterFunc(runTime, func() { _ = w.m.Stop(context.Background()) })
		w.mu.Unlock()
	}
	writeJSON(rw, resp)
}

// shapeFor returns the master's shape name and whether this POST /swarm
// runs it: always without --class-picker, as Locust; with it, when the
// form's shape_class names it (absent or "Default": no shape, as Locust's
// picker). A name with false is a shape_class naming another shape.
func (w *Web) shapeFor(r *http.Request) (string, bool) {
	var info ShapeInfo
	var has bool
	w.m.Do(func(v *View) { info, has = v.Shape() })
	if !has {
		return "", false
	}
	if !w.cfg.ClassPicker {
		return info.Name, true
	}
	switch picked := r.PostForm.Get("shape_class"); picked {
	case "", "Default":
		return "", false
	case info.Name:
		return info.Name, true
	}
	return info.Name, false
}

// shape serves GET /shape (glocust): the load shape's name, stage, target,
// next change, plan and the changes so far (ShapeJSON); 404 without one.
func (w *Web) shape(rw http.ResponseWriter, _ *http.Request) {
	var info ShapeInfo
	var ok bool
	w.m.Do(func(v *View) { info, ok = v.Shape() })
	if !ok {
		rw.Header().Set("Content-Type", "application/json")
		rw.WriteHeader(http.StatusNotFound)
		io.WriteString(rw, `{"error": "no load shape: give the scenario a shape"}`+"\n")
		return
	}
	writeJSON(rw, ShapeJSON(info))
}

// thresholds serves GET /thresholds (glocust): each threshold's verdict on
// the merged stats now (ThresholdsJSON).
func (w *Web) thresholds(rw http.ResponseWriter, _ *http.Request) {
	var doc map[string]any
	w.m.Do(func(v *View) { doc = ThresholdsJSON(v.Thresholds()) })
	writeJSON(rw, doc)
}

func (w *Web) cancelRunTime() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.runTime != nil {
		w.runTime.Stop()
		w.runTime = nil
	}
}

// stop blocks until the workers stopped (Locust 2.47: POST; GET is
// accepted for older clients).
func (w *Web) stop(rw http.ResponseWriter, r *http.Request) {
	w.cancelRunTime()
	_ = w.m.Stop(r.Context())
	writeJSON(rw, map[string]any{"success": true, "message": "Test stopped"})
}

func (w *Web) reset(rw http.ResponseWriter, r *http.Request) {
	w.m.ResetStats()
	rw.Header().Set("Content-Type", "text/html; charset=utf-8")
	io.WriteString(rw, "ok")
}

// properRound is Locust's proper_round for response times: half up.
func properRound(v float64) int64 { return int64(math.Floor(v + 0.5)) }

func entryDict(s *stats.Summary, now time.Time) map[string]any {
	minRT := int64(0)
	if s.HasMin {
		minRT = properRound(s.MinResponseTime)
	}
	d := map[string]any{
		"method": s.Method, "name": s.Name,
		"num_requests": s.NumRequests, "num_failures": s.NumFailures,
		"min_response_time": minRT, "max_response_time": properRound(s.MaxResponseTime),
		"current_rps": s.CurrentRPS(now), "current_fail_per_sec": s.CurrentFailPerSec(now),
		"avg_response_time": s.Avg(), "median_response_time": s.Median(),
		"total_rps": s.TotalRPS(), "total_fail_per_sec": s.TotalFailPerSec(),
		"avg_content_length": s.AvgContentLength(),
	}
	for _, p := range stats.PercentilesToStatistics {
		d["response_time_percentile_"+strconv.FormatFloat(p, 'f', -1, 64)] = s.Percentile(p)
	}
	return d
}

// RequestsJSON builds the /stats/requests document.
func RequestsJSON(v *View, now time.Time) map[string]any {
	agg := v.Stats()
	var rows []map[string]any
	for i, e := range agg.Entries() {
		if i == 500 {
			break
		}
		rows = append(rows, entryDict(e, now))
	}
	total := entryDict(agg.Total(), now)
	rows = append(rows, total)
	errs := []map[string]any{}
	for i, e := range agg.ErrorsByArrival() {
		if i == 500 {
			break
		}
		d := map[string]any{"method": e.Method, "name": e.Name, "error": e.Error, "occurrences": e.Occurrences}
		if e.HasSeen {
			d["first_seen"], d["last_seen"] = nullableFloat(e.FirstSeen), nullableFloat(e.LastSeen)
		}
		errs = append(errs, d)
	}
	pcts := map[string]any{}
	for _, p := range stats.PercentilesToChart {
		var val any
		if ms, ok := agg.Total().CurrentPercentile(p, now); ok {
			val = ms
		}
		pcts["response_time_percentile_"+strconv.FormatFloat(p, 'f', -1, 64)] = val
	}
	workers := v.Workers()
	return map[string]any{
		"stats": rows, "errors": errs,
		"current_rps": total["current_rps"], "current_fail_per_sec": total["current_fail_per_sec"],
		"total_rps": total["total_rps"], "total_fail_per_sec": total["total_fail_per_sec"],
		"fail_ratio":                        agg.Total().FailRatio(),
		"current_response_time_percentiles": pcts,
		"workers":                           workers, "worker_count": v.WorkerCount(),
		"state": v.State(), "user_count": v.UserCount(),
	}
}

func nullableFloat(f float64) any {
	if f == 0 {
		return nil
	}
	return f
}

func (w *Web) requests(rw http.ResponseWriter, r *http.Request) {
	var doc map[string]any
	w.m.Do(func(v *View) { doc = RequestsJSON(v, time.Now()) })
	writeJSON(rw, doc)
}

// downloadName is Locust's Locust_<date>_<locustfile>[_<host>]_<kind>.csv.
func downloadName(start time.Time, locustfile, host, kind, ext string) string {
	if start.IsZero() {
		start = time.Now()
	}
	if host != "" {
		host = "_" + host
	}
	suffix := ""
	if kind != "" {
		suffix = "_" + kind
	}
	return fmt.Sprintf("Locust_%s_%s%s%s.%s", start.Format("2006-01-02-15h04"), filepath.Base(locustfile), host, suffix, ext)
}

func (w *Web) csv(kind string, write func(v *View, b io.Writer) error) http.HandlerFunc {
	return func(rw http.ResponseWriter, r *http.Request) {
		var buf bytes.Buffer
		var err error
		var name string
		w.m.Do(func(v *View) {
			err = write(v, &buf)
			name = downloadName(startOf(v), w.cfg.Locustfile, v.Host(), kind, "csv")
		})
		if err != nil {
			http.Error(rw, err.Error(), http.StatusInternalServerError)
			return
		}
		rw.Header().Set("Content-Type", "text/csv")
		rw.Header().Set("Content-Disposition", "attachment;filename="+name)
		rw.Write(buf.Bytes())
	}
}

func startOf(v *View) time.Time {
	return time.Unix(int64(v.Stats().Total().StartTime), 0)
}

func (w *Web) fullHistory(rw http.ResponseWriter, r *http.Request) {
	if w.cfg.HistoryCSV == "" {
		http.Error(rw, "Error: Server was not started with option to generate full history.", http.StatusNotFound)
		return
	}
	f, err := os.Open(w.cfg.HistoryCSV)
	if err != nil {
		http.Error(rw, err.Error(), http.StatusNotFound)
		return
	}
	defer f.Close()
	var name string
	w.m.Do(func(v *View) {
		name = downloadName(startOf(v), w.cfg.Locustfile, v.Host(), "requests_full_history", "csv")
	})
	rw.Header().Set("Content-Type", "text/csv")
	rw.Header().Set("Content-Disposition", "attachment;filename="+name)
	io.Copy(rw, f)
}

func (w *Web) exceptions(rw http.ResponseWriter, r *http.Request) {
	rows := []map[string]any{}
	w.m.Do(func(v *View) {
		for _, e := range v.Exceptions().List() {
			rows = append(rows, map[string]any{"count": e.Count, "msg": e.Msg, "traceback": e.Traceback,
				"nodes": strings.Join(e.Nodes, ", ")})
		}
	})
	writeJSON(rw, map[string]any{"exceptions": rows})
}

// RunInfo describes the run for the HTML report.
func RunInfo(v *View, locustfile string) report.RunInfo {
	end := v.EndTime()
	if end.IsZero() {
		end = time.Now()
	}
	start := v.StartTime()
	if start.IsZero() {
		start = startOf(v)
	}
	info := report.RunInfo{Locustfile: locustfile, Host: v.Host(), Start: start, End: end,
		UserCount: v.UserCount(), State: v.State(), WorkerCount: v.WorkerCount(), UserClasses: v.Classes(),
		RunID: v.Run().ID, Profile: v.Run().Profile}
	if sh, ok := v.Shape(); ok {
		info.Shape, info.Marks = sh.Name, sh.StageMarks()
	}
	info.Checks = ReportChecks(v.Thresholds())
	return info
}

func (w *Web) report(rw http.ResponseWriter, r *http.Request) {
	var buf bytes.Buffer
	var err error
	var name string
	w.m.Do(func(v *View) {
		err = report.HTML(&buf, v.Stats(), v.Exceptions(), v.History(), RunInfo(v, w.cfg.Locustfile))
		name = downloadName(startOf(v), w.cfg.Locustfile, v.Host(), "", "html")
	})
	if err != nil {
		http.Error(rw, err.Error(), http.StatusInternalServerError)
		return
	}
	rw.Header().Set("Content-Type", "text/html; charset=utf-8")
	if r.URL.Query().Get("download") != "" {
		rw.Header().Set("Content-Disposition", "attachment;filename="+name)
	}
	rw.Write(buf.Bytes())
}

// TasksJSON is /tasks: per-class and total ratios of classes and tasks.
func TasksJSON(v *View) map[string]any {
	counts := v.ClassCounts()
	var sum int64
	for _, n := range counts {
		sum += n
	}
	if sum == 0 {
		sum = 1
	}
	tasks := v.Tasks()
	perClass, total := map[string]any{}, map[string]any{}
	for _, cls := range v.Classes() {
		r := float64(counts[cls]) / float64(sum)
		var wsum int
		for _, t := range tasks[cls] {
			wsum += max(t.Weight, 1)
		}
		pc, tt := map[string]any{}, map[string]any{}
		for _, t := range tasks[cls] {
			tr := float64(max(t.Weight, 1)) / float64(max(wsum, 1))
			pc[t.Name] = map[string]any{"ratio": tr}
			tt[t.Name] = map[string]any{"ratio": tr * r}
		}
		perClass[cls] = map[string]any{"ratio": r, "tasks": pc}
		total[cls] = map[string]any{"ratio": r, "tasks": tt}
	}
	return map[string]any{"per_class": perClass, "total": total}
}

func (w *Web) tasks(rw http.ResponseWriter, r *http.Request) {
	var doc map[string]any
	w.m.Do(func(v *View) { doc = TasksJSON(v) })
	writeJSON(rw, doc)
}

func (w *Web) workerCount(rw http.ResponseWriter, r *http.Request) {
	var n int
	w.m.Do(func(v *View) { n = v.WorkerCount() })
	writeJSON(rw, map[string]any{"worker_count": n})
}

// logs serves Locust's GET /logs: the master's recent lines and each
// worker's last "logs" message.
func (w *Web) logs(rw http.ResponseWriter, _ *http.Request) {
	master := []string{}
	if w.cfg.MasterLogs != nil {
		if l := w.cfg.MasterLogs(); l != nil {
			master = l
		}
	}
	var workers map[string][]string
	w.m.Do(func(v *View) { workers = v.WorkerLogs() })
	writeJSON(rw, map[string]any{"master": master, "workers": workers})
}

// updateUser serves Locust's POST /user (the web UI's user class editor):
// a JSON object with user_class_name and the attributes to change (weight,
// fixed_count, host, wait_time, tasks, ...). The master applies weight and
// fixed_count to its dispatch and sends the object to every worker as
// update_user_class, as Locust's Environment.update_user_class does.
func (w *Web) updateUser(rw http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		http.Error(rw, "Method Not Allowed", http.StatusMethodNotAllowed)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		http.Error(rw, err.Error(), http.StatusBadRequest)
		return
	}
	settings, err := jsonToMap(body)
	if err != nil {
		http.Error(rw, "POST /user: "+err.Error(), http.StatusBadRequest)
		return
	}
	if err := w.m.UpdateUserClass(settings); err != nil {
		http.Error(rw, "POST /user: "+err.Error(), http.StatusBadRequest)
		return
	}
	rw.Header().Set("Content-Type", "application/json")
	rw.WriteHeader(http.StatusCreated)
	io.WriteString(rw, "{}\n")
}

// jsonToMap decodes a JSON object into an ordered protocol map: integral
// numbers become int64, others float64, nested objects *protocol.Map.
func jsonToMap(b []byte) (*protocol.Map, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	v, err := jsonValue(dec, 0)
	if err != nil {
		return nil, err
	}
	m, ok := v.(*protocol.Map)
	if !ok {
		return nil, fmt.Errorf("want a JSON object")
	}
	if dec.More() {
		return nil, fmt.Errorf("trailing data after the JSON object")
	}
	return m, nil
}

func jsonValue(dec *json.Decoder, depth int) (protocol.Value, error) {
	if depth > 32 {
		return nil, fmt.Errorf("JSON nested too deep")
	}
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	switch t := tok.(type) {
	case json.Delim:
		switch t {
		case '{':
			m := &protocol.Map{}
			for dec.More() {
				k, err := dec.Token()
				if err != nil {
					return nil, err
				}
				v, err := jsonValue(dec, depth+1)
				if err != nil {
					return nil, err
				}
				m.Set(k.(string), v)
			}
			_, err := dec.Token() // '}'
			return m, err
		case '[':
			l := []protocol.Value{}
			for dec.More() {
				v, err := jsonValue(dec, depth+1)
				if err != nil {
					return nil, err
				}
				l = append(l, v)
			}
			_, err := dec.Token() // ']'
			return l, err
		}
		return nil, fmt.Errorf("unexpected %v", t)
	case json.Number:
		if i, err := t.Int64(); err == nil {
			return i, nil
		}
		return t.Float64()
	default: // string, bool, nil
		return t, nil
	}
}
