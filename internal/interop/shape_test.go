package interop

import (
	"fmt"
	"math"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/glocust/glocust/internal/testenv"
)

// The shape of testdata/shape.yaml and its Python twin ThreeStages
// (testdata/shape_locustfile.py): 10 users until 8 s, 30 until 18 s, 5
// until 28 s, all at spawn rate 10, so one dispatch step is 10 users.
// settled is the part of each stage where its ramp (at most 3 steps a
// second apart, from the first tick after the stage's start) is over and
// the workers have reported it.
var shapeStages = []struct {
	users          int64
	start, end     float64
	settled, until float64
}{
	{10, 0, 8, 2, 7.5},
	{30, 8, 18, 12, 17.5},
	{5, 18, 28, 23, 27.5},
}

const (
	shapeEnd  = 28.0
	shapeStep = 10 // users per dispatch step: max(1, floor(spawn rate))
)

// shapeRun is a master (glocust, standalone glocust or Python Locust)
// running the shape with --autostart --autoquit 0, whose /stats/requests
// (and /shape for glocust) is sampled while it runs.
type shapeRun struct {
	name    string
	web     string
	csv     string // --csv prefix
	master  *testenv.Process
	workers []*testenv.Process
	glocust bool

	mu      sync.Mutex
	samples []usersSample
	stages  []float64 // the stage numbers /shape showed, in order (glocust)
	done    chan struct{}
}

type usersSample struct {
	at    time.Time
	users int64
}

// startShapeRun starts a master of kind "glocust", "locust" or
// "standalone" and, for the first two, two workers of workerKind
// ("glocust" or "locust"), each on a cluster of its own.
func startShapeRun(t *testing.T, kind, workerKind string) *shapeRun {
	t.Helper()
	c := newCluster(t)
	web := testenv.FreePort(t)
	r := &shapeRun{name: kind + " master, " + workerKind + " workers", web: fmt.Sprintf("http://127.0.0.1:%d", web),
		csv: filepath.Join(c.dir, "run"), glocust: kind != "locust", done: make(chan struct{})}
	common := []string{"--autostart", "--autoquit", "0", "--web-host", "127.0.0.1", "--web-port", strconv.Itoa(web),
		"-H", c.target.URL, "--csv", r.csv}
	dist := []string{"--master", "--master-bind-host", "127.0.0.1", "--master-bind-port", strconv.Itoa(c.port), "--expect-workers", "2"}
	switch kind {
	case "glocust":
		r.master = testenv.Start(t, testenv.Command{Path: c.glocust, Dir: c.dir,
			Args: slices.Concat([]string{"-f", testdata(t, "shape.yaml")}, dist, common)})
	case "locust":
		r.master = testenv.Start(t, testenv.Command{Path: c.locust, Dir: c.dir,
			Args: slices.Concat([]string{"-f", testdata(t, "shape_locustfile.py")}, dist, common)})
	case "standalone":
		r.name = "standalone glocust"
		r.master = testenv.Start(t, testenv.Command{Path: c.glocust, Dir: c.dir,
			Args: slices.Concat([]string{"-f", testdata(t, "shape.yaml")}, common)})
	}
	for i := 0; kind != "standalone" && i < 2; i++ {
		path, file := c.glocust, testdata(t, "shape.yaml")
		if workerKind == "locust" {
			path, file = c.locust, testdata(t, "shape_locustfile.py")
		}
		r.workers = append(r.workers, testenv.Start(t, testenv.Command{Path: path, Dir: c.dir, Args: []string{
			"--worker", "-f", file, "--master-host", "127.0.0.1", "--master-port", strconv.Itoa(c.port)}}))
	}
	go r.sample()
	return r
}

// sample polls the master's /stats/requests (and /shape) every 250 ms
// until it exits.
func (r *shapeRun) sample() {
	defer close(r.done)
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-r.master.Done():
			return
		case <-tick.C:
		}
		var doc struct {
			UserCount *int64 `json:"user_count"`
		}
		if err := getJSONInto(r.web+"/stats/requests", &doc); err != nil || doc.UserCount == nil {
			continue // not up yet, or gone
		}
		s := usersSample{at: time.Now(), users: *doc.UserCount}
		var sh struct {
			Running    bool    `json:"running"`
			StageIndex float64 `json:"stage_index"`
		}
		shaped := r.glocust && getJSONInto(r.web+"/shape", &sh) == nil && sh.Running && sh.StageIndex > 0
		r.mu.Lock()
		r.samples = append(r.samples, s)
		if shaped && (len(r.stages) == 0 || r.stages[len(r.stages)-1] != sh.StageIndex) {
			r.stages = append(r.stages, sh.StageIndex)
		}
		r.mu.Unlock()
	}
}

// wait waits for the master (exit 0) and its workers to end.
func (r *shapeRun) wait(t *testing.T) {
	t.Helper()
	mustExit(t, r.master, 2*time.Minute, 0)
	<-r.done
	for _, w := range r.workers {
		mustExit(t, w, 30*time.Second, 0)
	}
}

var logStamp = `^\[(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3})\] \S+: `

// logTime returns the time of the first line of the master's log whose
// message is msg (Locust's log format, local time, as both write it).
func (r *shapeRun) logTime(t *testing.T, msg string) time.Time {
	t.Helper()
	out := r.master.MustOutput(t)
	m := regexp.MustCompile(`(?m)` + logStamp + regexp.QuoteMeta(msg) + `$`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("%s: no log line %q:\n%s", r.name, msg, out)
	}
	at, err := time.ParseInLocation("2006-01-02 15:04:05,000", m[1], time.Local)
	if err != nil {
		t.Fatal(err)
	}
	return at
}

// history returns the users of _stats_history.csv per second of the
// shape's time (the Aggregated rows, by their timestamp less t0).
func (r *shapeRun) history(t *testing.T, t0 time.Time) map[int]int64 {
	t.Helper()
	rows, err := testenv.ReadCSV(r.csv + "_stats_history.csv")
	if err != nil {
		t.Fatal(err)
	}
	out := map[int]int64{}
	for _, row := range rows {
		if row["Name"] != "Aggregated" {
			continue
		}
		ts, err1 := strconv.ParseInt(row["Timestamp"], 10, 64)
		users, err2 := strconv.ParseInt(row["User Count"], 10, 64)
		if err1 != nil || err2 != nil {
			t.Fatalf("%s: history row %v", r.name, row)
		}
		// The row holds the count at its second: elapsed from t0, floored.
		out[int(math.Floor(float64(ts)-float64(t0.UnixMilli())/1000))] = users
	}
	if len(out) == 0 {
		t.Fatalf("%s: empty history", r.name)
	}
	return out
}

// check verifies one run against the shape and returns its history: the
// run ended with the shape, and the users the master reported on
// /stats/requests and in _stats_history.csv are each stage's users once
// settled and between neighbouring stages' users during a ramp.
func (r *shapeRun) check(t *testing.T) map[int]int64 {
	t.Helper()
	t0 := r.logTime(t, "Shape test starting.")
	if end := r.logTime(t, "Shape test stopping").Sub(t0).Seconds(); end < shapeEnd || end > shapeEnd+2.5 {
		t.Errorf("%s: the shape ended %.1f s after its start, want %.0f s (+ up to a tick and a ramp)", r.name, end, shapeEnd)
	}
	r.logTime(t, "Shape test completed, stopping test")
	r.mu.Lock()
	samples := slices.Clone(r.samples)
	r.mu.Unlock()
	points := map[float64]int64{}
	for _, s := range samples {
		points[s.at.Sub(t0).Seconds()] = s.users
	}
	checkAgainstStages(t, r.name+" /stats/requests", points, 0, 6)
	hist := r.history(t, t0)
	hp := map[float64]int64{}
	for sec, users := range hist {
		hp[float64(sec)+0.5] = users
	}
	// A row's second is written some time in it: up to half a second
	// either side of its middle.
	checkAgainstStages(t, r.name+" _stats_history.csv", hp, 0.5, 3)
	return hist
}

// checkAgainstStages checks users sampled at elapsed seconds, each known to
// within slack: in a stage's settled part they equal its users; from a
// stage's start to its settled part they lie between the previous stage's
// users and its own. It wants at least minSettled samples in each settled
// part.
func checkAgainstStages(t *testing.T, what string, points map[float64]int64, slack float64, minSettled int) {
	t.Helper()
	for i, st := range shapeStages {
		prev := int64(0)
		if i > 0 {
			prev = shapeStages[i-1].users
		}
		lo, hi := min(prev, st.users), max(prev, st.users)
		settled := 0
		for at, users := range points {
			switch {
			case at-slack >= st.settled && at+slack <= st.until:
				settled++
				if users != st.users {
					t.Errorf("%s: %d users at %.1f s, in stage %d's settled part: want %d", what, users, at, i+1, st.users)
				}
			case at-slack >= st.start+1 && at+slack < st.settled && (users < lo || users > hi):
				t.Errorf("%s: %d users at %.1f s, ramping to stage %d: want %d..%d", what, users, at, i+1, lo, hi)
			}
		}
		if settled < minSettled {
			t.Errorf("%s: %d samples in stage %d's settled part (%.1f..%.1f s), want >= %d", what, settled, i+1,
				st.settled, st.until, minSettled)
		}
	}
}

// sameHistory checks that two runs' user counts agree second by second
// within one spawn step (allowing one second of skew between the two
// masters' ticks) over the whole shape.
func sameHistory(t *testing.T, aName string, a map[int]int64, bName string, b map[int]int64) {
	t.Helper()
	compared := 0
	for sec := 0; sec < int(shapeEnd); sec++ {
		ua, ok := a[sec]
		if !ok {
			continue
		}
		best := int64(math.MaxInt64)
		for _, s := range []int{sec - 1, sec, sec + 1} {
			if ub, ok := b[s]; ok {
				best = min(best, max(ua-ub, ub-ua))
			}
		}
		if best == math.MaxInt64 {
			continue
		}
		compared++
		if best > shapeStep {
			t.Errorf("at %d s %s has %d users, %s %v around then: more than one spawn step (%d) apart", sec, aName, ua,
				bName, []int64{b[sec-1], b[sec], b[sec+1]}, shapeStep)
		}
	}
	if compared < int(shapeEnd)-4 {
		t.Errorf("only %d seconds of %s's and %s's histories compared", compared, aName, bName)
	}
}

// TestShapeGlocustAndLocustMasters runs the 3-stage shape side by side on
// a glocust master with two glocust workers (testdata/shape.yaml) and on a
// Python Locust master with two Python workers (the same shape as a
// LoadTestShape): each follows the stages on /stats/requests and in its
// _stats_history.csv, ends with the shape, and the two user-count
// histories agree second by second within one spawn step. The glocust
// master's /shape shows the stages in order.
func TestShapeGlocustAndLocustMasters(t *testing.T) {
	t.Parallel()
	g := startShapeRun(t, "glocust", "glocust")
	p := startShapeRun(t, "locust", "locust")
	g.wait(t)
	p.wait(t)
	gh, ph := g.check(t), p.check(t)
	sameHistory(t, g.name, gh, p.name, ph)
	if !slices.Equal(g.stages, []float64{1, 2, 3}) {
		t.Errorf("%s: /shape showed stages %v, want 1, 2, 3", g.name, g.stages)
	}
	cleanMasterLog(t, g.master)
	for _, w := range p.workers {
		checkPythonWorkerLog(t, w)
	}
}

// TestShapePythonWorkersAndStandalone runs the same YAML shape on a glocust
// master with two real Python Locust workers and, side by side, in
// standalone mode: both follow the stages and give the same history.
func TestShapePythonWorkersAndStandalone(t *testing.T) {
	t.Parallel()
	m := startShapeRun(t, "glocust", "locust")
	s := startShapeRun(t, "standalone", "")
	m.wait(t)
	s.wait(t)
	mh, sh := m.check(t), s.check(t)
	sameHistory(t, m.name, mh, s.name, sh)
	for _, w := range m.workers {
		checkPythonWorkerLog(t, w)
	}
	cleanMasterLog(t, m.master)
}
