package master

import (
	"bytes"
	"compress/gzip"
	"time"

	"github.com/glocust/glocust/master/report"
)

// The web UI's past runs: every test this master ran since it started
// (the last uiMaxRuns of them), with the HTML report of each of the last
// uiMaxReports, rendered when the run ended and kept compressed.

const (
	uiMaxRuns    = 100
	uiMaxReports = 10
)

// pastRun is one test of this master.
type pastRun struct {
	id         int
	start, end time.Time
	peakUsers  int64
	target     int
	requests   int64
	failures   int64
	host       string
	report     []byte // the report, gzip-compressed (nil: none kept)
	reportName string
}

// runLog is the dashboard's list of runs. The sampler owns it.
type runLog struct {
	runs   []*pastRun // oldest first
	cur    *pastRun   // the run of the current start time
	nextID int
}

// ending reports whether sample s ends the run it belongs to: the master
// has an end time for it and the log has not ended it yet. It only reads
// the log (the handlers read it too, under the dashboard's lock).
func (l *runLog) ending(s *uiSample) bool {
	if s.start.IsZero() || s.end.IsZero() {
		return false
	}
	return l.cur == nil || !l.cur.start.Equal(s.start) || l.cur.end.IsZero()
}

// renderReport renders the HTML report of the test in v and returns it
// with its download name (nil if it failed). It runs inside Do.
func renderReport(v *View, locustfile string) (gz []byte, name string) {
	var buf bytes.Buffer
	if err := report.HTML(&buf, v.Stats(), v.Exceptions(), v.History(), RunInfo(v, locustfile)); err != nil {
		return nil, ""
	}
	return buf.Bytes(), downloadName(startOf(v), locustfile, v.Host(), "", "html")
}

// gzipped compresses b (nil stays nil).
func gzipped(b []byte) []byte {
	if b == nil {
		return nil
	}
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	zw.Write(b)
	zw.Close()
	return buf.Bytes()
}

// observe follows the run of sample s: a new start time begins a run, the
// master's end time ends it, with report (gzip-compressed; nil: none) and
// its download name. A run whose end was not seen (a new test began within
// one update interval of the stop) ends at the sample that saw the new
// one, without a report. It reports whether the list changed in a way the
// pages show (a run began or ended).
func (l *runLog) observe(s *uiSample, report []byte, reportName string) bool {
	if s.start.IsZero() {
		return false
	}
	changed := false
	if l.cur == nil || !l.cur.start.Equal(s.start) {
		if l.cur != nil && l.cur.end.IsZero() {
			l.cur.end = s.now
		}
		l.nextID++
		l.cur = &pastRun{id: l.nextID, start: s.start}
		l.runs = append(l.runs, l.cur)
		if len(l.runs) > uiMaxRuns {
			l.runs = l.runs[1:]
		}
		changed = true
	}
	r := l.cur
	if !r.end.IsZero() {
		return changed
	}
	r.peakUsers = max(r.peakUsers, s.users)
	r.target, r.host = s.target, s.host
	r.requests, r.failures = int64(s.total.vals[0]), int64(s.total.vals[1])
	if s.end.IsZero() {
		return changed
	}
	r.end, r.report, r.reportName = s.end, report, reportName
	l.trimReports()
	return true
}

// trimReports keeps the reports of the last uiMaxReports runs.
func (l *runLog) trimReports() {
	kept := 0
	for i := len(l.runs) - 1; i >= 0; i-- {
		if l.runs[i].report == nil {
			continue
		}
		if kept++; kept > uiMaxReports {
			l.runs[i].report = nil
		}
	}
}

// find returns the run numbered id (nil if it is not kept).
func (l *runLog) find(id int) *pastRun {
	for _, r := range l.runs {
		if r.id == id {
			return r
		}
	}
	return nil
}

// appendJSON appends the runs, oldest first, as [[id, start ms, end ms (0:
// running), peak users, target users, requests, failures, report kept
// 0/1, host], ...].
func (l *runLog) appendJSON(b []byte) []byte {
	b = append(b, '[')
	for i, r := range l.runs {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, '[')
		for j, n := range []int64{int64(r.id), unixMilliOrZero(r.start), unixMilliOrZero(r.end),
			r.peakUsers, int64(r.target), r.requests, r.failures, int64(boolNum(r.report != nil))} {
			if j > 0 {
				b = append(b, ',')
			}
			b = appendInt(b, n)
		}
		b = append(b, ',')
		b = appendStr(b, r.host)
		b = append(b, ']')
	}
	return append(b, ']')
}
