package master

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// The dashboard's HTTP side: the event stream, a request name's history,
// a past run's report and the dashboard's own cost.

// uiWriteTimeout bounds one write to a page: a page that stops reading is
// disconnected (its EventSource reconnects and gets an init).
const uiWriteTimeout = 10 * time.Second

// uiKeepAlive is the period of the comment lines that keep an idle stream
// open through proxies that close silent connections.
const uiKeepAlive = 15 * time.Second

// events serves GET ui/events: a Server-Sent Events stream of one init,
// then the updates (see dashboard.go), with a fresh init whenever the page
// fell behind.
func (d *dashboard) events(rw http.ResponseWriter, r *http.Request) {
	// A page that connects before the sampler's first sample (the master
	// just started) waits for it, so that its init has the state and rows.
	select {
	case <-d.sampled:
	case <-d.done:
	case <-r.Context().Done():
		return
	}
	p := &page{ch: make(chan []byte, uiQueue), resync: make(chan struct{}, 1)}
	d.mu.Lock()
	if d.stopped || len(d.pages) >= uiMaxPages {
		d.mu.Unlock()
		http.Error(rw, "too many dashboard pages are connected", http.StatusServiceUnavailable)
		return
	}
	d.pages[p] = struct{}{}
	d.cost.Pages = len(d.pages)
	init := d.encodeInit()
	d.mu.Unlock()
	// The last sample may lack the rows' percentiles (no page was
	// connected): the next one, at once, has them.
	select {
	case d.kick <- struct{}{}:
	default:
	}
	defer func() {
		d.mu.Lock()
		delete(d.pages, p)
		d.cost.Pages = len(d.pages)
		d.mu.Unlock()
	}()

	h := rw.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache, no-transform")
	h.Set("X-Accel-Buffering", "no") // nginx: do not buffer the stream
	rc := http.NewResponseController(rw)
	// write sends one event (JSON has no raw newline: one data line);
	// an empty event is a comment that keeps the stream open.
	write := func(prefix, event string, data []byte) bool {
		_ = rc.SetWriteDeadline(time.Now().Add(uiWriteTimeout))
		b := make([]byte, 0, len(prefix)+len(event)+len(data)+24)
		b = append(b, prefix...)
		if event == "" {
			b = append(b, ": keep-alive\n\n"...)
		} else {
			b = append(append(append(b, "event: "...), event...), "\ndata: "...)
			b = append(append(b, data...), "\n\n"...)
		}
		if _, err := rw.Write(b); err != nil {
			return false
		}
		return rc.Flush() == nil
	}
	// retry: the delay of the page's reconnection after a lost stream.
	if !write("retry: 2000\n", "init", init) {
		return
	}
	keep := time.NewTicker(uiKeepAlive)
	defer keep.Stop()
	for {
		select {
		case msg := <-p.ch:
			if !write("", "update", msg) {
				return
			}
		case <-p.resync:
			d.mu.Lock()
			init := d.encodeInit()
			d.mu.Unlock()
			if !write("", "init", init) {
				return
			}
		case <-keep.C:
			if !write("", "", nil) {
				return
			}
		case <-r.Context().Done():
			return
		case <-d.quit:
			return
		}
	}
}

// endpoint serves GET ui/endpoint?id=N: the chart history of request name
// N of the current run, {"stride":..,"t":[..],"n":[..],"cols":[rps,
// fail/s, then the current percentiles at stats.PercentilesToChart]}.
func (d *dashboard) endpoint(rw http.ResponseWriter, r *http.Request) {
	id, err := strconv.Atoi(r.URL.Query().Get("id"))
	if err != nil {
		http.Error(rw, "want ?id=<request name number>", http.StatusBadRequest)
		return
	}
	d.mu.Lock()
	var b []byte
	if s := d.perName[id]; s != nil {
		b = appendSeries(nil, s)
	}
	d.mu.Unlock()
	if b == nil {
		http.Error(rw, "no history for this request name in the current run", http.StatusNotFound)
		return
	}
	rw.Header().Set("Content-Type", "application/json")
	rw.Header().Set("Cache-Control", "no-store")
	rw.Write(b)
}

// runReport serves GET ui/runs/{id}/report: the HTML report of a past run
// (?download=1: as a download), from its compressed copy.
func (d *dashboard) runReport(rw http.ResponseWriter, r *http.Request) {
	id, _ := strconv.Atoi(r.PathValue("id"))
	d.mu.Lock()
	var gz []byte
	var name string
	if run := d.runs.find(id); run != nil {
		gz, name = run.report, run.reportName
	}
	d.mu.Unlock()
	if gz == nil {
		http.Error(rw, "no report kept for this run (the last "+strconv.Itoa(uiMaxReports)+" are)", http.StatusNotFound)
		return
	}
	h := rw.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Vary", "Accept-Encoding")
	if r.URL.Query().Get("download") != "" {
		h.Set("Content-Disposition", "attachment;filename="+name)
	}
	if acceptsGzip(r) {
		h.Set("Content-Encoding", "gzip")
		rw.Write(gz)
		return
	}
	zr, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		http.Error(rw, err.Error(), http.StatusInternalServerError)
		return
	}
	io.Copy(rw, zr)
}

func acceptsGzip(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept-Encoding"), ",") {
		enc, q, _ := strings.Cut(strings.TrimSpace(part), ";")
		if strings.EqualFold(strings.TrimSpace(enc), "gzip") && strings.ReplaceAll(q, " ", "") != "q=0" {
			return true
		}
	}
	return false
}

// costJSON serves GET ui/cost: the dashboard's own cost (uiCost), for the
// bench.
func (d *dashboard) costJSON(rw http.ResponseWriter, _ *http.Request) {
	d.mu.Lock()
	c := d.cost
	d.mu.Unlock()
	writeJSON(rw, c)
}
