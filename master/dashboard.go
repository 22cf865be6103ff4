package master

import (
	"math"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/glocust/glocust/protocol"
	"github.com/glocust/glocust/stats"
)

// The web UI's live side. One sampler goroutine reads the master's state
// once per update interval (one Master.Do: readSample; the table's
// percentiles, which sort each name's buckets, only while a page is
// connected, and at once when one connects), and, off the loop,
// keeps the chart histories (series: the Aggregated row's and each request
// name's, both of bounded size), the past runs (runLog), and encodes one
// update that every connected page receives (Server-Sent Events, events in
// ui_events.go). So the cost on the master's loop is one sample per
// interval whatever the number of pages, and nothing when the master is
// headless (no dashboard then).
//
// Messages, JSON (the page's ui/app.js reads them):
//
//	init:   the dictionaries (request names, worker ids), the chart
//	        history, the past runs, and the last sample;
//	update: the names and ids new since the previous update, one history
//	        point, and the sample.
//
// A sample has every row of the table, so a page needs only the init and
// the updates after it; a page that cannot keep up (its queue is full) is
// sent a fresh init instead of the updates it missed.

// Bounds of the dashboard's memory.
const (
	// uiHistoryPoints bounds the Aggregated row's chart history (master
	// and page, whose copy is sent in the boot's history_points): about a
	// chart's width in pixels. 68 min at one point per 2 s fill it; then
	// each halving doubles the time a point covers.
	uiHistoryPoints = 2048
	// uiNamePoints bounds each request name's chart history.
	uiNamePoints = 240
	// uiMaxPages bounds the pages connected at once.
	uiMaxPages = 64
	// uiQueue is the number of updates a page may be behind before it is
	// sent an init instead.
	uiQueue = 4
	// DefaultUIInterval is the dashboard's update interval.
	DefaultUIInterval = 2 * time.Second
)

var nan = math.NaN()

// dict numbers strings (request names, worker ids) for the page: each is
// sent once, with its number, and referred to by it after.
type dict struct {
	ids  map[string]int
	list []string
	sent int // entries sent to the pages so far
}

func (d *dict) id(key string) int {
	if id, ok := d.ids[key]; ok {
		return id
	}
	if d.ids == nil {
		d.ids = map[string]int{}
	}
	id := len(d.list)
	d.ids[key] = id
	d.list = append(d.list, key)
	return id
}

func (d *dict) reset() { *d = dict{} }

// uiCost is the dashboard's own cost, served at ui/cost for the bench.
type uiCost struct {
	Updates     int64         `json:"updates"`
	LoopTime    time.Duration `json:"loop_ns"`   // in Do, summed
	EncodeTime  time.Duration `json:"encode_ns"` // off the loop, summed
	LastLoop    time.Duration `json:"last_loop_ns"`
	LastEncode  time.Duration `json:"last_encode_ns"`
	LastBytes   int           `json:"last_update_bytes"`
	Bytes       int64         `json:"update_bytes"` // of all updates, once (not per page)
	InitBytes   int           `json:"last_init_bytes"`
	Pages       int           `json:"pages"`
	Inits       int64         `json:"inits"`
	Dropped     int64         `json:"resyncs"` // pages sent an init because they fell behind
	NamesCached int           `json:"names"`
}

// dashboard is the web UI's sampler and broadcaster.
type dashboard struct {
	m        *Master
	cfg      *WebConfig
	interval time.Duration
	ncols    int
	quit     chan struct{}
	done     chan struct{}
	kick     chan struct{} // a page connected: sample now
	sampled  chan struct{} // closed once the first sample is taken (snap is set)
	once     sync.Once

	mu       sync.Mutex
	pages    map[*page]struct{}
	names    dict // method + "\x00" + name
	wids     dict // worker ids
	hist     *series
	perName  map[int]*series
	runs     runLog
	runStart time.Time // start of the run the histories belong to
	errSig   [2]int64
	errJSON  []byte // the errors of the last sample that had them
	snap     []byte // the last sample's fields, for inits
	cost     uiCost
	stopped  bool
	prof     string // --profile, or the last POST /swarm's
}

// page is one connected page's queue.
type page struct {
	ch     chan []byte
	resync chan struct{} // 1-buffered: an init is due
}

// newDashboard returns the dashboard of m and starts its sampler.
func newDashboard(m *Master, cfg *WebConfig) *dashboard {
	d := makeDashboard(m, cfg)
	go d.run()
	return d
}

// makeDashboard returns the dashboard without its sampler (tests call
// sample themselves).
func makeDashboard(m *Master, cfg *WebConfig) *dashboard {
	d := &dashboard{m: m, cfg: cfg, interval: cfg.UpdateInterval, quit: make(chan struct{}), done: make(chan struct{}),
		kick: make(chan struct{}, 1), sampled: make(chan struct{}),
		pages: map[*page]struct{}{}, perName: map[int]*series{}, prof: cfg.Profile}
	if d.interval <= 0 {
		d.interval = DefaultUIInterval
	}
	d.ncols = len(uiRowColumns(false))
	d.hist = newSeries(uiHistoryPoints, histMaxCols())
	return d
}

// histMaxCols marks the history's columns merged by maximum: users (the
// first), then rps, fail/s and average and the percentiles by mean.
func histMaxCols() []bool {
	cols := make([]bool, 4+len(uiPercentiles()))
	cols[0] = true
	return cols
}

// close stops the sampler and ends every page's stream.
func (d *dashboard) close() {
	d.once.Do(func() {
		close(d.quit)
		<-d.done
	})
}

func (d *dashboard) run() {
	defer close(d.done)
	t := time.NewTicker(d.interval)
	defer t.Stop()
	for {
		d.sample()
		select {
		case <-t.C:
		case <-d.kick:
		case <-d.quit:
			d.mu.Lock()
			d.stopped = true
			d.mu.Unlock()
			return
		}
	}
}

// sample takes one sample and sends the update.
func (d *dashboard) sample() {
	var s *uiSample
	var html []byte
	var reportName string
	d.mu.Lock()
	full := len(d.pages) > 0
	d.mu.Unlock()
	t0 := time.Now()
	d.m.Do(func(v *View) {
		s = readSample(v, d.ncols, d.errSig, full)
		// A run's report is rendered while its stats are there.
		if d.runs.ending(s) {
			html, reportName = renderReport(v, d.cfg.Locustfile)
		}
	})
	loop := time.Since(t0)
	if d.cfg.Uncorrected != nil {
		d.cfg.Uncorrected(s.start, func(a *stats.Aggregate) { addUncorrected(s, a) })
	}
	t1 := time.Now()
	gz := gzipped(html)

	d.mu.Lock()
	defer d.mu.Unlock()
	runsChanged := d.runs.observe(s, gz, reportName)
	newRun := !s.start.Equal(d.runStart)
	if newRun {
		d.runStart = s.start
		d.names.reset()
		d.hist.reset()
		clear(d.perName)
	}
	running := s.state == StateSpawning || s.state == StateRunning || s.state == StateStopping
	msg := d.encodeUpdate(s, running, runsChanged)
	d.cost.Updates++
	d.cost.LoopTime += loop
	d.cost.LastLoop = loop
	enc := time.Since(t1)
	d.cost.EncodeTime += enc
	d.cost.LastEncode = enc
	d.cost.LastBytes = len(msg)
	d.cost.Bytes += int64(len(msg))
	d.cost.NamesCached = len(d.names.list)
	for p := range d.pages {
		if newRun {
			d.resync(p)
			continue
		}
		select {
		case p.ch <- msg:
		default:
			d.cost.Dropped++
			d.resync(p)
		}
	}
}

// resync drops p's queued updates and marks an init due.
func (d *dashboard) resync(p *page) {
	for len(p.ch) > 0 {
		<-p.ch
	}
	select {
	case p.resync <- struct{}{}:
	default:
	}
}

// addUncorrected appends the uncorrected percentiles of each row (NaN for
// names the uncorrected copy does not have).
func addUncorrected(s *uiSample, a *stats.Aggregate) {
	add := func(r *uiRow, e *stats.Summary) {
		for _, p := range uncorrectedPercentiles {
			if e == nil || e.NumRequests == 0 {
				r.vals = append(r.vals, nan)
				continue
			}
			r.vals = append(r.vals, float64(e.Percentile(p)))
		}
	}
	for i := range s.rows {
		add(&s.rows[i], a.Entry(s.rows[i].method, s.rows[i].name))
	}
	add(&s.total, a.Total())
}

// encodeUpdate keeps the histories and returns the update message. It
// runs with d.mu held. runsChanged sends the past runs again.
func (d *dashboard) encodeUpdate(s *uiSample, running, runsChanged bool) []byte {
	nameIDs := make([]int, len(s.rows))
	for i, r := range s.rows {
		nameIDs[i] = d.names.id(r.method + "\x00" + r.name)
	}
	wids := make([]int, len(s.workers))
	for i, w := range s.workers {
		wids[i] = d.wids.id(w.ID)
	}
	var point []float64
	if running && !s.start.IsZero() {
		point = append([]float64{float64(s.users), s.total.vals[d.rpsCol()], s.total.vals[d.rpsCol()+1],
			s.total.vals[d.avgCol()]}, s.totalPct...)
		d.hist.add(s.now, point)
		for i, r := range s.rows {
			sr := d.perName[nameIDs[i]]
			if sr == nil {
				sr = newSeries(uiNamePoints, make([]bool, 2+len(stats.PercentilesToChart)))
				d.perName[nameIDs[i]] = sr
			}
			sr.add(s.now, append([]float64{r.vals[d.rpsCol()], r.vals[d.rpsCol()+1]}, r.cur...))
		}
	}
	if s.errors != nil || d.errJSON == nil {
		d.errSig = s.errSig
		d.errJSON = appendErrors(d.errJSON[:0], s)
	}
	select {
	case <-d.sampled:
	default:
		close(d.sampled) // the first sample (under mu: closed once)
	}
	d.snap = d.appendSample(d.snap[:0], s, nameIDs, wids)

	b := append(make([]byte, 0, len(d.snap)+256), '{')
	b = appendKey(b, "names")
	b = d.appendNames(b, d.names.sent)
	b = appendKey(b, "wids")
	b = appendDict(b, &d.wids, d.wids.sent, nil)
	d.names.sent, d.wids.sent = len(d.names.list), len(d.wids.list)
	if point != nil {
		b = appendKey(b, "point")
		b = append(b, '[')
		b = appendInt(b, s.now.UnixMilli())
		for _, v := range point {
			b = append(b, ',')
			b = appendNum(b, v)
		}
		b = append(b, ']')
	}
	if s.errors != nil {
		b = appendKey(b, "errors")
		b = append(b, d.errJSON...)
	}
	if runsChanged {
		b = appendKey(b, "runs")
		b = d.runs.appendJSON(b)
	}
	b = append(b, ',')
	b = append(b, d.snap...)
	return append(b, '}')
}

// rpsCol and avgCol are the columns of current_rps (current_fail_per_sec
// follows it) and avg_response_time in a row.
func (d *dashboard) rpsCol() int { return d.ncols - 2 }
func (d *dashboard) avgCol() int { return d.ncols - 6 }

// encodeInit returns the init message for a page that connects now. It
// runs with d.mu held.
func (d *dashboard) encodeInit() []byte {
	b := append(make([]byte, 0, len(d.snap)+len(d.names.list)*32+d.hist.len()*64+1024), '{')
	b = appendKey(b, "init")
	b = append(b, "true"...)
	b = appendKey(b, "names")
	b = d.appendNames(b, 0)
	b = appendKey(b, "wids")
	b = appendDict(b, &d.wids, 0, nil)
	b = appendKey(b, "hist")
	b = appendSeries(b, d.hist)
	b = appendKey(b, "errors")
	b = append(b, cmpOr(d.errJSON, []byte("[]"))...)
	b = appendKey(b, "runs")
	b = d.runs.appendJSON(b)
	if len(d.snap) > 0 {
		b = append(b, ',')
		b = append(b, d.snap...)
	}
	b = append(b, '}')
	d.cost.Inits++
	d.cost.InitBytes = len(b)
	return b
}

func cmpOr(b, def []byte) []byte {
	if len(b) == 0 {
		return def
	}
	return b
}

// appendNames appends the request names from number from on, as
// [[id, method, name], ...].
func (d *dashboard) appendNames(b []byte, from int) []byte {
	return appendDict(b, &d.names, from, func(b []byte, key string) []byte {
		method, name, _ := strings.Cut(key, "\x00")
		return appendStr(append(appendStr(b, method), ','), name)
	})
}

// appendDict appends d's entries from number from on, as [[id, entry],
// ...], each entry written by put (nil: the key as a string).
func appendDict(b []byte, d *dict, from int, put func([]byte, string) []byte) []byte {
	if put == nil {
		put = appendStr
	}
	b = append(b, '[')
	for i := from; i < len(d.list); i++ {
		if i > from {
			b = append(b, ',')
		}
		b = append(b, '[')
		b = appendInt(b, int64(i))
		b = append(b, ',')
		b = put(b, d.list[i])
		b = append(b, ']')
	}
	return append(b, ']')
}

// appendSeries appends s as {"stride":k,"t":[...],"n":[...],"cols":[[...],...]}.
func appendSeries(b []byte, s *series) []byte {
	b = append(b, `{"stride":`...)
	b = appendInt(b, int64(s.stride))
	b = appendKey(b, "t")
	b = appendInts(b, s.t)
	b = appendKey(b, "n")
	b = appendInts(b, s.n)
	b = appendKey(b, "cols")
	b = append(b, '[')
	for i, c := range s.cols {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendNums(b, c)
	}
	return append(b, "]}"...)
}

// appendErrors appends the sample's errors as [[method, name, error,
// occurrences], ...] (at most 500, as /stats/requests).
func appendErrors(b []byte, s *uiSample) []byte {
	return appendArray(b, s.errors, 500, func(b []byte, e protocol.StatsError) []byte {
		b = append(b, '[')
		b = appendStr(b, e.Method)
		b = append(b, ',')
		b = appendStr(b, e.Name)
		b = append(b, ',')
		b = appendStr(b, e.Error)
		b = append(b, ',')
		b = appendInt(b, e.Occurrences)
		return append(b, ']')
	})
}

// appendSample appends the sample's fields (no braces): the run state,
// the table's rows as [name id, values...], the workers as [id, index,
// state, users, target (-1: none), cpu %, memory bytes, heartbeat age s,
// missing s, taken back 0/1], the class counts, the shape and thresholds.
func (d *dashboard) appendSample(b []byte, s *uiSample, nameIDs, wids []int) []byte {
	b = appendKey(b, "t")
	b = appendInt(b, s.now.UnixMilli())
	b = appendKey(b, "state")
	b = appendStr(b, s.state)
	b = appendKey(b, "users")
	b = appendInt(b, s.users)
	b = appendKey(b, "target")
	b = appendInt(b, int64(s.target))
	b = appendKey(b, "rate")
	b = appendNum(b, s.rate)
	b = appendKey(b, "workerCount")
	b = appendInt(b, int64(s.workerCount))
	b = appendKey(b, "host")
	b = appendStr(b, s.host)
	b = appendKey(b, "start")
	b = appendInt(b, unixMilliOrZero(s.start))
	b = appendKey(b, "end")
	b = appendInt(b, unixMilliOrZero(s.end))
	b = appendKey(b, "exceptions")
	b = appendInt(b, int64(s.exceptions))
	b = appendKey(b, "errorCount")
	b = appendInt(b, s.errSig[1])
	b = appendKey(b, "total")
	b = appendNums(b, s.total.vals)
	b = appendKey(b, "rows")
	b = append(b, '[')
	for i, r := range s.rows {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, '[')
		b = appendInt(b, int64(nameIDs[i]))
		for _, v := range r.vals {
			b = append(b, ',')
			b = appendNum(b, v)
		}
		b = append(b, ']')
	}
	b = append(b, ']')
	b = appendKey(b, "workers")
	b = append(b, '[')
	for i, w := range s.workers {
		if i > 0 {
			b = append(b, ',')
		}
		target := int64(-1)
		if w.HasTarget {
			target = w.Target
		}
		b = append(b, '[')
		b = appendInt(b, int64(wids[i]))
		b = append(b, ',')
		b = appendInt(b, int64(w.Index))
		b = append(b, ',')
		b = appendStr(b, w.State)
		for _, n := range []float64{float64(w.UserCount), float64(target), w.CPUUsage, float64(w.Memory),
			w.HeartbeatAge.Seconds(), w.MissingFor.Seconds(), boolNum(w.TakenBack)} {
			b = append(b, ',')
			b = appendNum(b, n)
		}
		b = append(b, ']')
	}
	b = append(b, ']')
	b = appendKey(b, "classes")
	b = append(b, '{')
	classes := make([]string, 0, len(s.classCounts))
	for c := range s.classCounts {
		classes = append(classes, c)
	}
	sort.Strings(classes)
	for i, c := range classes {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendStr(b, c)
		b = append(b, ':')
		b = appendInt(b, s.classCounts[c])
	}
	b = append(b, '}')
	b = appendKey(b, "shape")
	b = appendStr(b, s.shape)
	b = appendKey(b, "shapeRuns")
	b = append(b, strconv.FormatBool(s.shapeRuns)...)
	b = appendKey(b, "thresholds")
	return appendArray(b, s.thresholds, -1, func(b []byte, t uiThreshold) []byte {
		b = append(b, '[')
		b = appendStr(b, t.expr)
		b = append(b, ',')
		b = appendStr(b, t.measured)
		b = append(b, ',')
		b = appendNum(b, boolNum(t.pass))
		return append(b, ']')
	})
}

func boolNum(v bool) float64 {
	if v {
		return 1
	}
	return 0
}

func unixMilliOrZero(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

// setProfile keeps the profile of the last POST /swarm (Locust's
// --profile), for the start form.
func (d *dashboard) setProfile(p string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.prof = p
}

func (d *dashboard) profile() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.prof
}
