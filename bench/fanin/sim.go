// Package fanin is the master fan-in benchmark (issue 5, goal 3): a
// simulator of N Locust workers over real ZeroMQ connections (a minimal
// hand-written ZMTP 3.0 NULL DEALER per worker, internal/zmtptest), a probe
// that times the master's replies, and the measurement of the master's CPU
// over a window. cmd/faninsim runs it against a master process; cmd/faninprof
// runs it against master.New in the same process and takes a CPU profile.
package fanin

import (
	"container/heap"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"math"
	"net"
	"os"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/glocust/glocust/internal/zmtptest"
	"github.com/glocust/glocust/protocol"
)

// maxFrame bounds a frame from the master; a DEALER sends exactly one frame
// per message (no delimiter) and the ROUTER's replies arrive as one frame.
const maxFrame = 1 << 20

// Config describes one simulated fan-in run.
type Config struct {
	Addr              string // the master's ROUTER, host:port
	N                 int    // simulated workers (the probe is extra)
	Entries           int    // stats entries per report (default 50)
	HeartbeatInterval time.Duration
	StatsInterval     time.Duration
	ReadyRetry        time.Duration // re-send client_ready without an ack (5 s)
	ProbeReady        time.Duration // the probe's client_ready period (2 s)
	RegTimeout        time.Duration // bound on registering all workers
	Warmup            time.Duration // after the last ack, before the window
	Window            time.Duration // the measured window
	Drain             time.Duration // after the window: heartbeats only
	MasterPID         string        // the master's pid for CPU; "" = not measured
	DialConcurrency   int
	QueueLen          int // per-worker send queue (a DEALER's HWM, in messages)
	Seed              uint64
	Logf              func(format string, args ...any)
}

func (c *Config) defaults() {
	if c.Entries == 0 {
		c.Entries = DefaultEntries
	}
	if c.HeartbeatInterval == 0 {
		c.HeartbeatInterval = time.Second
	}
	if c.StatsInterval == 0 {
		c.StatsInterval = 3 * time.Second
	}
	if c.ReadyRetry == 0 {
		c.ReadyRetry = 5 * time.Second
	}
	if c.ProbeReady == 0 {
		c.ProbeReady = 2 * time.Second
	}
	if c.RegTimeout == 0 {
		c.RegTimeout = 90 * time.Second
	}
	if c.DialConcurrency == 0 {
		c.DialConcurrency = 64
	}
	if c.QueueLen == 0 {
		c.QueueLen = 64
	}
	if c.Seed == 0 {
		c.Seed = uint64(time.Now().UnixNano())
	}
	if c.Logf == nil {
		c.Logf = func(string, ...any) {}
	}
}

// Latency summarises one latency sample set in milliseconds.
type Latency struct {
	N   int     `json:"n"`
	P50 float64 `json:"p50_ms"`
	P90 float64 `json:"p90_ms"`
	P99 float64 `json:"p99_ms"`
	Max float64 `json:"max_ms"`
}

func summarize(xs []float64) Latency {
	if len(xs) == 0 {
		return Latency{}
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	q := func(p float64) float64 {
		i := int(math.Ceil(p*float64(len(s)))) - 1
		return round3(s[max(0, min(i, len(s)-1))])
	}
	return Latency{N: len(s), P50: q(0.5), P90: q(0.9), P99: q(0.99), Max: round3(s[len(s)-1])}
}

func round3(x float64) float64 { return math.Round(x*1000) / 1000 }

// Result is what one run measured.
type Result struct {
	N              int     `json:"n"`
	Entries        int     `json:"entries"`
	FrameBytes     int     `json:"stats_frame_bytes"`
	TotalBuckets   int     `json:"stats_total_buckets"`
	Registered     int     `json:"registered"`
	RegSeconds     float64 `json:"reg_seconds"`
	RegAck         Latency `json:"reg_ack"`
	ReadyResends   int64   `json:"ready_resends"`
	RegComplete    bool    `json:"reg_complete"`
	WindowSeconds  float64 `json:"window_s"`
	WindowStart    float64 `json:"window_start_epoch"`
	WindowEnd      float64 `json:"window_end_epoch"`
	MasterCPUSec   float64 `json:"master_cpu_s"`
	MasterCPUPct   float64 `json:"master_cpu_pct"`
	MasterSchedPct float64 `json:"master_sched_pct"`     // from task schedstat (cross-check)
	MasterWaitPct  float64 `json:"master_runq_wait_pct"` // runnable but not running (contention)
	SimWaitPct     float64 `json:"sim_runq_wait_pct"`
	CPUmsPerWorker float64 `json:"cpu_ms_per_worker_s"`
	Worst1sPct     float64 `json:"worst_1s_pct"`
	MasterRSSStart float64 `json:"master_rss_mib_start"`
	MasterRSSEnd   float64 `json:"master_rss_mib_end"`
	SimCPUPct      float64 `json:"sim_cpu_pct"`
	BusyCores      float64 `json:"busy_cores"`
	ForeignCores   float64 `json:"foreign_cores"`

	HBSentWindow    int64   `json:"hb_sent_window"`
	HBRepliesWindow int64   `json:"hb_replies_window"`
	HB              Latency `json:"hb_reply"`        // every worker's heartbeat -> reply, in the window
	HBUnanswered    int64   `json:"hb_unanswered"`   // heartbeats without a reply 2 s after the drain
	ProbeHB         Latency `json:"probe_hb_reply"`  // the probe's heartbeats
	ProbeAck        Latency `json:"probe_ack"`       // the probe's client_ready -> ack
	ProbeStatsHB    Latency `json:"probe_report_hb"` // a report then a heartbeat -> that heartbeat's reply
	SchedLate       Latency `json:"sim_sched_late"`  // the simulator's own lateness
	StatsSentWindow int64   `json:"stats_sent_window"`
	MsgsPerSec      float64 `json:"msgs_per_s"`
	MBPerSec        float64 `json:"mb_per_s"`

	StatsSent     int64            `json:"stats_sent_total"`
	RequestsSent  int64            `json:"requests_sent_total"`
	Dropped       int64            `json:"dropped_hwm"`
	Disconnects   int64            `json:"disconnects"`
	WriteErrors   int64            `json:"write_errors"`
	OtherMessages map[string]int64 `json:"other_messages"`
}

// ---- workers ----

const (
	kindHB = iota
	kindStats
	kindReadyRetry
	kindProbeReady
)

const (
	tagHB = iota
	tagProbeHB
	tagProbeStatsHB
	tagReg
	tagProbeReady
)

type pend struct {
	t   time.Time
	tag uint8
}

type outMsg struct {
	a, b     []byte // frame payload = a + b (b: node id, may be nil)
	hb, rdy  bool   // push a pending entry before writing
	tag      uint8
	requests int64 // stats: requests in the report
}

type simWorker struct {
	idx     int
	probe   bool
	node    string
	nodeStr []byte // msgpack str of node
	hbMsg   []byte
	rdyMsg  []byte
	d       *zmtptest.Peer
	q       chan outMsg

	mu     sync.Mutex
	hbPend []pend
	rdPend []pend

	acked atomic.Bool
	dead  atomic.Bool
}

// Sim runs the simulated workers.
type Sim struct {
	cfg Config
	gen *loadGen
	ws  []*simWorker

	variants  atomic.Pointer[[]variant]
	recording atomic.Bool
	statsOff  atomic.Bool

	connCh chan *simWorker
	ackCh  chan *simWorker
	nAcked atomic.Int64
	allAck chan struct{}

	mu           sync.Mutex
	hbLat        []float64
	probeHB      []float64
	probeAck     []float64
	probeStatsHB []float64
	regAck       []float64
	late         []float64
	other        map[string]int64

	hbSent, hbReplies, statsSent, requests, statsBytes atomic.Int64
	dropped, disconnects, writeErrs, readyResends      atomic.Int64

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

func nodeID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return "fanin_" + hex.EncodeToString(b[:])
}

// New prepares a simulator; Run starts it.
func New(cfg Config) (*Sim, error) {
	cfg.defaults()
	s := &Sim{cfg: cfg, gen: newLoadGen(cfg.Entries, cfg.Seed), connCh: make(chan *simWorker, cfg.N+1),
		ackCh: make(chan *simWorker, cfg.N+16), allAck: make(chan struct{}), other: map[string]int64{}}
	v, err := s.gen.variants(time.Now())
	if err != nil {
		return nil, err
	}
	s.variants.Store(&v)
	for i := 0; i <= cfg.N; i++ {
		w := &simWorker{idx: i, probe: i == cfg.N, node: nodeID(), q: make(chan outMsg, cfg.QueueLen)}
		w.nodeStr = protocol.AppendString(nil, w.node)
		w.hbMsg, err = protocol.Encode(w.node, &protocol.Heartbeat{State: protocol.StateRunning,
			CurrentCPUUsage: 5.0, CurrentMemoryUsage: 50_000_000})
		if err != nil {
			return nil, err
		}
		w.rdyMsg, _ = protocol.Encode(w.node, &protocol.ClientReady{Version: ClientVersion})
		s.ws = append(s.ws, w)
	}
	return s, nil
}

func (s *Sim) record(dst *[]float64, d time.Duration) {
	s.mu.Lock()
	*dst = append(*dst, float64(d)/1e6)
	s.mu.Unlock()
}

// Close stops every worker and closes its connection.
func (s *Sim) Close() {
	if s.cancel != nil {
		s.cancel()
	}
	for _, w := range s.ws {
		if w.d != nil {
			w.d.Close()
		}
	}
	s.wg.Wait()
}

func msgType(b []byte) string {
	if len(b) < 2 || b[0] != 0x93 || b[1]&0xe0 != 0xa0 {
		return "?"
	}
	n := int(b[1] & 0x1f)
	if len(b) < 2+n {
		return "?"
	}
	switch t := b[2 : 2+n]; string(t) {
	case "heartbeat":
		return "heartbeat"
	case "ack":
		return "ack"
	default:
		return string(t)
	}
}

func (s *Sim) reader(w *simWorker) {
	defer s.wg.Done()
	buf := make([]byte, 256)
	for {
		body, cmd, err := w.d.ReadFrame(buf, maxFrame)
		if err != nil {
			if s.ctx.Err() == nil && !w.dead.Swap(true) {
				s.disconnects.Add(1)
				s.cfg.Logf("worker %d: read: %v", w.idx, err)
			}
			return
		}
		if cap(body) > cap(buf) {
			buf = body[:0]
		}
		if cmd {
			continue
		}
		now := time.Now()
		switch msgType(body) {
		case "heartbeat":
			w.mu.Lock()
			var p pend
			ok := len(w.hbPend) > 0
			if ok {
				p = w.hbPend[0]
				w.hbPend = w.hbPend[1:]
			}
			w.mu.Unlock()
			if !ok || !s.recording.Load() {
				continue
			}
			s.hbReplies.Add(1)
			lat := now.Sub(p.t)
			switch p.tag {
			case tagHB:
				s.record(&s.hbLat, lat)
			case tagProbeHB:
				s.record(&s.probeHB, lat)
			case tagProbeStatsHB:
				s.record(&s.probeStatsHB, lat)
			}
		case "ack":
			w.mu.Lock()
			var p pend
			ok := len(w.rdPend) > 0
			if ok {
				p = w.rdPend[0]
				w.rdPend = w.rdPend[1:]
			}
			w.mu.Unlock()
			if !w.acked.Load() {
				w.acked.Store(true)
				if ok {
					s.record(&s.regAck, now.Sub(p.t))
				}
				s.ackCh <- w
				if s.nAcked.Add(1) == int64(len(s.ws)) {
					close(s.allAck)
				}
			} else if ok && p.tag == tagProbeReady && s.recording.Load() {
				s.record(&s.probeAck, now.Sub(p.t))
			}
		default:
			s.mu.Lock()
			s.other[msgType(body)]++
			s.mu.Unlock()
		}
	}
}

func (s *Sim) writer(w *simWorker) {
	defer s.wg.Done()
	var hdr [9]byte
	for {
		var m outMsg
		select {
		case m = <-w.q:
		case <-s.ctx.Done():
			return
		}
		if m.hb || m.rdy {
			p := pend{t: time.Now(), tag: m.tag}
			w.mu.Lock()
			if m.hb {
				w.hbPend = append(w.hbPend, p)
			} else {
				w.rdPend = append(w.rdPend, p)
			}
			w.mu.Unlock()
		}
		bufs := net.Buffers{zmtptest.AppendHeader(hdr[:0], len(m.a)+len(m.b), false, false), m.a}
		if m.b != nil {
			bufs = append(bufs, m.b)
		}
		if _, err := bufs.WriteTo(w.d.Conn()); err != nil {
			if s.ctx.Err() == nil && !w.dead.Swap(true) {
				s.writeErrs.Add(1)
				s.cfg.Logf("worker %d: write: %v", w.idx, err)
			}
			return
		}
		if m.requests > 0 {
			s.statsSent.Add(1)
			s.requests.Add(m.requests)
			s.statsBytes.Add(int64(len(m.a) + len(m.b)))
		}
		if m.hb && s.recording.Load() {
			s.hbSent.Add(1)
		}
	}
}

func (s *Sim) enqueue(w *simWorker, m outMsg) {
	select {
	case w.q <- m:
	default:
		s.dropped.Add(1)
	}
}

// ---- scheduler ----

type event struct {
	at   time.Time
	w    *simWorker
	kind uint8
}

type evHeap []event

func (h evHeap) Len() int           { return len(h) }
func (h evHeap) Less(i, j int) bool { return h[i].at.Before(h[j].at) }
func (h evHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *evHeap) Push(x any)        { *h = append(*h, x.(event)) }
func (h *evHeap) Pop() any {
	old := *h
	e := old[len(old)-1]
	*h = old[:len(old)-1]
	return e
}

// nextPhase returns the first time after now that is origin + phase
// modulo period.
func nextPhase(origin, now time.Time, period time.Duration, phase float64) time.Time {
	off := time.Duration(phase * float64(period))
	k := now.Sub(origin.Add(off)) / period
	t := origin.Add(off + k*period)
	for !t.After(now) {
		t = t.Add(period)
	}
	return t
}

func (s *Sim) scheduler(origin time.Time) {
	defer s.wg.Done()
	cfg := s.cfg
	n := float64(cfg.N)
	h := &evHeap{}
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	lastVariantSec := time.Now().Unix()
	for {
		now := time.Now()
		if sec := now.Unix(); sec != lastVariantSec {
			lastVariantSec = sec
			if v, err := s.gen.variants(now); err == nil {
				s.variants.Store(&v)
			}
		}
		horizon := now.Add(200 * time.Microsecond)
		for h.Len() > 0 && !(*h)[0].at.After(horizon) {
			ev := heap.Pop(h).(event)
			if s.recording.Load() {
				s.record(&s.late, max(0, now.Sub(ev.at)))
			}
			w := ev.w
			if w.dead.Load() {
				continue
			}
			var period time.Duration
			switch ev.kind {
			case kindHB:
				tag := uint8(tagHB)
				if w.probe {
					tag = tagProbeHB
				}
				s.enqueue(w, outMsg{a: w.hbMsg, hb: true, tag: tag})
				period = cfg.HeartbeatInterval
			case kindStats:
				if !s.statsOff.Load() {
					vs := *s.variants.Load()
					v := vs[(w.idx+int(now.UnixNano()>>20))%len(vs)]
					s.enqueue(w, outMsg{a: v.prefix, b: w.nodeStr, requests: v.requests})
					if w.probe { // a report, then a heartbeat timed behind it
						s.enqueue(w, outMsg{a: w.hbMsg, hb: true, tag: tagProbeStatsHB})
					}
				}
				period = cfg.StatsInterval
			case kindReadyRetry:
				if w.acked.Load() {
					continue
				}
				s.readyResends.Add(1)
				s.enqueue(w, outMsg{a: w.rdyMsg, rdy: true, tag: tagReg})
				period = cfg.ReadyRetry
			case kindProbeReady:
				s.enqueue(w, outMsg{a: w.rdyMsg, rdy: true, tag: tagProbeReady})
				period = cfg.ProbeReady
			}
			next := ev.at.Add(period)
			if next.Before(now) { // fell behind by a whole period: skip, keep the phase
				next = nextPhase(ev.at, now, period, 0)
			}
			heap.Push(h, event{at: next, w: w, kind: ev.kind})
		}
		wait := time.Second
		if h.Len() > 0 {
			wait = min(wait, time.Until((*h)[0].at))
		}
		timer.Reset(max(wait, 0))
		select {
		case <-s.ctx.Done():
			return
		case w := <-s.connCh:
			s.enqueue(w, outMsg{a: w.rdyMsg, rdy: true, tag: tagReg})
			heap.Push(h, event{at: time.Now().Add(cfg.ReadyRetry), w: w, kind: kindReadyRetry})
		case w := <-s.ackCh:
			now := time.Now()
			if w.probe {
				heap.Push(h, event{at: nextPhase(origin, now, cfg.HeartbeatInterval, 0.25), w: w, kind: kindHB})
				heap.Push(h, event{at: nextPhase(origin, now, cfg.StatsInterval, 0.6), w: w, kind: kindStats})
				heap.Push(h, event{at: nextPhase(origin, now, cfg.ProbeReady, 0.8), w: w, kind: kindProbeReady})
				continue
			}
			i := float64(w.idx)
			phi := i * 0.6180339887498949
			phi -= math.Floor(phi)
			heap.Push(h, event{at: nextPhase(origin, now, cfg.HeartbeatInterval, (i+0.5)/n), w: w, kind: kindHB})
			heap.Push(h, event{at: nextPhase(origin, now, cfg.StatsInterval, phi), w: w, kind: kindStats})
		case <-timer.C:
		}
	}
}

// ---- run ----

// Run connects and registers every worker, warms up, measures the window
// and drains (heartbeats only, no reports). It returns with the workers
// still connected and heartbeating; call Close to stop them.
func (s *Sim) Run(ctx context.Context) (*Result, error) {
	cfg := s.cfg
	s.ctx, s.cancel = context.WithCancel(ctx)
	origin := time.Now().Truncate(time.Second)
	s.wg.Add(1)
	go s.scheduler(origin)

	res := &Result{N: cfg.N, Entries: cfg.Entries}
	vs := *s.variants.Load()
	res.FrameBytes = len(vs[0].prefix) + len(s.ws[0].nodeStr)
	_, res.TotalBuckets = TotalBuckets(cfg.Entries)

	// Connect: bounded concurrency, the probe first.
	regStart := time.Now()
	regDeadline := regStart.Add(cfg.RegTimeout)
	order := append([]*simWorker{s.ws[cfg.N]}, s.ws[:cfg.N]...)
	sem := make(chan struct{}, cfg.DialConcurrency)
	var dialErr atomic.Pointer[error]
	var dwg sync.WaitGroup
	for _, w := range order {
		if dialErr.Load() != nil || s.ctx.Err() != nil {
			break
		}
		sem <- struct{}{}
		dwg.Add(1)
		go func() {
			defer func() { <-sem; dwg.Done() }()
			var d *zmtptest.Peer
			var err error
			for attempt := 0; ; attempt++ {
				d, err = zmtptest.Dial(cfg.Addr, w.node, 10*time.Second)
				if err == nil || time.Now().After(regDeadline) || s.ctx.Err() != nil {
					break
				}
				time.Sleep(100 * time.Millisecond)
			}
			if err != nil {
				e := fmt.Errorf("worker %d: connect %s: %w", w.idx, cfg.Addr, err)
				dialErr.Store(&e)
				return
			}
			w.d = d
			s.wg.Add(2)
			go s.reader(w)
			go s.writer(w)
			s.connCh <- w
		}()
	}
	dwg.Wait()
	if e := dialErr.Load(); e != nil {
		return res, *e
	}
	cfg.Logf("connected %d workers in %.1f s", len(s.ws), time.Since(regStart).Seconds())
	select {
	case <-s.allAck:
		res.RegComplete = true
	case <-time.After(time.Until(regDeadline)):
	case <-s.ctx.Done():
		return res, s.ctx.Err()
	}
	res.Registered = int(s.nAcked.Load())
	res.RegSeconds = round3(time.Since(regStart).Seconds())
	res.ReadyResends = s.readyResends.Load()
	s.mu.Lock()
	res.RegAck = summarize(s.regAck)
	s.mu.Unlock()
	cfg.Logf("registered %d/%d in %.1f s (ack p50 %.1f ms, max %.1f ms, %d re-sends)", res.Registered, len(s.ws),
		res.RegSeconds, res.RegAck.P50, res.RegAck.Max, res.ReadyResends)
	if !res.RegComplete {
		return res, fmt.Errorf("registration incomplete after %s: %d of %d acked", cfg.RegTimeout, res.Registered, len(s.ws))
	}

	if !sleepCtx(s.ctx, cfg.Warmup) {
		return res, s.ctx.Err()
	}

	// The window.
	pid := cfg.MasterPID
	m0, _ := procCPU(pid)
	sch0, wait0 := procSched(pid)
	_, swait0 := procSched(SelfPID)
	self0, _ := procCPU("self")
	b0 := busyCPU()
	res.MasterRSSStart = round3(procRSS(pid))
	stats0, bytes0 := s.statsSent.Load(), s.statsBytes.Load()
	s.recording.Store(true)
	t0 := time.Now()
	prev, prevT := m0, t0
	for i := 1; ; i++ {
		end := t0.Add(time.Duration(i) * time.Second)
		if end.After(t0.Add(cfg.Window)) {
			end = t0.Add(cfg.Window)
		}
		if !sleepCtx(s.ctx, time.Until(end)) {
			return res, s.ctx.Err()
		}
		if pid != "" {
			c, _ := procCPU(pid)
			now := time.Now()
			if dt := now.Sub(prevT).Seconds(); dt > 0.5 {
				res.Worst1sPct = max(res.Worst1sPct, round3((c-prev)/dt*100))
			}
			prev, prevT = c, now
		}
		if !end.Before(t0.Add(cfg.Window)) {
			break
		}
	}
	s.recording.Store(false)
	wall := time.Since(t0).Seconds()
	m1, _ := procCPU(pid)
	sch1, wait1 := procSched(pid)
	_, swait1 := procSched(SelfPID)
	self1, _ := procCPU("self")
	b1 := busyCPU()
	res.WindowSeconds = round3(wall)
	res.WindowStart = float64(t0.UnixMilli()) / 1e3
	res.WindowEnd = res.WindowStart + res.WindowSeconds
	res.StatsSentWindow = s.statsSent.Load() - stats0
	res.HBSentWindow = s.hbSent.Load()
	res.HBRepliesWindow = s.hbReplies.Load()
	res.MsgsPerSec = round3(float64(res.HBSentWindow+res.StatsSentWindow) / wall)
	res.MBPerSec = round3(float64(s.statsBytes.Load()-bytes0) / wall / 1e6)
	if pid != "" {
		res.MasterCPUSec = round3(m1 - m0)
		res.MasterCPUPct = round3((m1 - m0) / wall * 100)
		res.MasterSchedPct = round3(float64(sch1-sch0) / 1e9 / wall * 100)
		res.MasterWaitPct = round3(float64(wait1-wait0) / 1e9 / wall * 100)
		res.CPUmsPerWorker = round3((m1 - m0) / wall / float64(cfg.N) * 1000)
		res.MasterRSSEnd = round3(procRSS(pid))
	}
	res.SimCPUPct = round3((self1 - self0) / wall * 100)
	res.SimWaitPct = round3(float64(swait1-swait0) / 1e9 / wall * 100)
	res.BusyCores = round3((b1 - b0) / wall)
	ours := (m1-m0)/wall + (self1-self0)/wall
	if pid == SelfPID { // in-process master: it is part of this process
		ours = (self1 - self0) / wall
	}
	res.ForeignCores = round3(max(0, res.BusyCores-ours))

	// Drain: no more reports, heartbeats go on.
	s.statsOff.Store(true)
	if !sleepCtx(s.ctx, cfg.Drain) {
		return res, s.ctx.Err()
	}
	cut := time.Now().Add(-2 * time.Second)
	for _, w := range s.ws {
		w.mu.Lock()
		for _, p := range w.hbPend {
			if p.t.Before(cut) {
				res.HBUnanswered++
			}
		}
		w.mu.Unlock()
	}
	s.mu.Lock()
	res.HB = summarize(s.hbLat)
	res.ProbeHB = summarize(s.probeHB)
	res.ProbeAck = summarize(s.probeAck)
	res.ProbeStatsHB = summarize(s.probeStatsHB)
	res.SchedLate = summarize(s.late)
	res.OtherMessages = maps(s.other)
	s.mu.Unlock()
	res.StatsSent = s.statsSent.Load()
	res.RequestsSent = s.requests.Load()
	res.Dropped = s.dropped.Load()
	res.Disconnects = s.disconnects.Load()
	res.WriteErrors = s.writeErrs.Load()
	return res, nil
}

func maps(m map[string]int64) map[string]int64 {
	out := make(map[string]int64, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

func sleepCtx(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// SelfPID is the MasterPID value that measures this process (in-process master).
var SelfPID = strconv.Itoa(os.Getpid())
