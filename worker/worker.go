package worker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/glocust/glocust/protocol"
	"github.com/glocust/glocust/protocol/zmq"
	"github.com/glocust/glocust/stats"
)

// Defaults, as in Locust's runners.py.
const (
	DefaultHeartbeatInterval      = time.Second
	DefaultReportInterval         = 3 * time.Second
	DefaultConnectRetryInterval   = 5 * time.Second
	DefaultConnectRetries         = 60
	DefaultMasterHeartbeatTimeout = 60 * time.Second
	// DefaultResetAfter is 0: the socket is recreated when the connection
	// fails (EOF, send error), as Locust does, not on silence alone — a
	// busy Python master can be silent for seconds, and a libzmq ROUTER
	// drops a reconnect whose identity it still holds.
	DefaultResetAfter      = 0
	DefaultReregisterAfter = 15 * time.Second
	// DefaultDeafAfter: a Locust master that has not answered on a new
	// connection within 3 heartbeat intervals ignores it (see
	// WithDeafAfter).
	DefaultDeafAfter = 3 * DefaultHeartbeatInterval
	// DefaultLocustVersion is the Locust version glocust speaks and announces.
	DefaultLocustVersion = "2.47.0"
)

// Users is what the worker needs from the user runtime (scenario.Runner).
// Counts lists every class the runtime can run, zeros included: a class
// of a spawn message that it does not list is unknown, and the worker
// reports it to the master as an exception.
type Users interface {
	SetHost(host string)
	Apply(targets []protocol.ClassCount)
	StopAll(ctx context.Context, stopTimeout time.Duration)
	Counts() []protocol.ClassCount
	UserCount() int64
	UpdateClass(name string, attrs map[string]any) []string
}

// TagFilter is implemented by Users that can filter their tasks by tags
// (scenario.Runner does). The worker calls it at the first spawn, with the
// master's tags/exclude_tags when the master sets them (as Locust's
// workers take them from the spawn's parsed_options), else its own
// (WithTags).
type TagFilter interface {
	FilterTags(include, exclude []string) bool
}

// Placer is implemented by Users that split work by the worker's place in
// the cluster (scenario.Runner: unique test data). Before applying each
// spawn the worker calls SetPlacement with its index (the ack's, -1
// before), its data slot (the ack's glocust_slot from a glocust master,
// else the index) and the number of shares (the spawn's
// parsed_options.expect_workers, 1 if unset).
type Placer interface {
	SetPlacement(index, slot, count int)
}

// MasterOptions is implemented by Users that take settings from the
// master's options (scenario.Runner: the scenario's vars, as Locust's
// workers take custom arguments). The worker calls it with each spawn's
// parsed_options (nil if none) before applying it.
type MasterOptions interface {
	SetMasterOptions(opts *protocol.Map)
}

// Dialer opens a transport to the master. The default dials a ZeroMQ DEALER.
type Dialer func(ctx context.Context, endpoint, identity string) (zmq.Transport, error)

// MessageHandler handles a custom message from the master.
type MessageHandler func(data protocol.Value)

// ErrMasterTimeout ends Run when the master stopped sending heartbeats.
var ErrMasterTimeout = errors.New("worker: no heartbeat from master")

// ErrConnect ends Run when the master never acknowledged client_ready.
var ErrConnect = errors.New("worker: could not connect to master")

// Option configures a Worker.
type Option func(*Worker)

// WithRedialDelay sets the pause between closing a connection and dialing
// again (default 1 s).
func WithRedialDelay(d time.Duration) Option { return func(w *Worker) { w.redialDelay = d } }

// WithNodeID sets the node id (default "<hostname>_<32 hex>").
func WithNodeID(id string) Option { return func(w *Worker) { w.nodeID = id } }

// WithLocustVersion sets the version sent in client_ready; "-1" sends the
// integer -1, which makes every Locust 2.x master skip its version check.
// The version also selects the message types the worker sends: only those a
// master of that version handles (worker/dialect.go).
func WithLocustVersion(v string) Option { return func(w *Worker) { w.version = v } }

// WithLogger sets the logger (default slog.Default()).
func WithLogger(l *slog.Logger) Option { return func(w *Worker) { w.log = l } }

// LogSource returns the worker's recent log lines (oldest first) and how
// many lines were ever logged; internal/logging's Ring.Lines is one.
type LogSource func() (lines []string, total int64)

// DefaultLogInterval is how often a worker sends its log lines (Locust's
// WORKER_LOG_REPORT_INTERVAL).
const DefaultLogInterval = 10 * time.Second

// maxLogLinesPerInterval: a worker that logged more lines than this in one
// interval sends its logs once more and then stops sending them, as
// Locust's workers do.
const maxLogLinesPerInterval = 70

// WithLogs makes the worker send Locust's "logs" message (Locust >= 2.29)
// every interval when there are new lines, for the master's web UI and
// /logs. interval <= 0 means DefaultLogInterval.
func WithLogs(src LogSource, interval time.Duration) Option {
	return func(w *Worker) {
		w.logSource, w.logEvery = src, interval
		if interval <= 0 {
			w.logEvery = DefaultLogInterval
		}
	}
}

// WithDialer replaces the transport (tests).
func WithDialer(d Dialer) Option { return func(w *Worker) { w.dial = d } }

// WithClock replaces time.Now (tests).
func WithClock(now func() time.Time) Option { return func(w *Worker) { w.now = now } }

// WithIntervals sets the heartbeat and stats report intervals.
func WithIntervals(heartbeat, report time.Duration) Option {
	return func(w *Worker) { w.heartbeatEvery, w.reportEvery = heartbeat, report }
}

// WithConnectRetry sets how often client_ready is repeated and how many
// times before giving up (Locust: 5 s, 60).
func WithConnectRetry(every time.Duration, retries int) Option {
	return func(w *Worker) { w.connectEvery, w.connectRetries = every, retries }
}

// WithMasterTimeouts sets when a silent master makes the worker reset its
// connection, register again, and finally quit (0 disables each).
func WithMasterTimeouts(reset, reregister, quit time.Duration) Option {
	return func(w *Worker) { w.resetAfter, w.reregisterAfter, w.masterTimeout = reset, reregister, quit }
}

// WithDeafAfter sets how long a registered worker waits for a Locust
// master to answer on a new connection before it registers again under a
// new node id (DefaultDeafAfter; 0 disables). A libzmq ROUTER without
// ROUTER_HANDOVER, as Locust's, ignores a connection whose identity it
// still holds, which it does when the previous connection died without
// it noticing (a reset it never saw, a NAT that dropped the connection).
func WithDeafAfter(d time.Duration) Option { return func(w *Worker) { w.deafAfter = d } }

// DefaultFinalWait bounds how long a worker that is shutting down waits
// for the master: to connect again if needed, and to confirm the final
// stats.
const DefaultFinalWait = 5 * time.Second

// WithFinalWait sets the shutdown's wait for the master (DefaultFinalWait).
func WithFinalWait(d time.Duration) Option { return func(w *Worker) { w.finalWait = d } }

// WithResetStatsOnSpawningComplete resets the stats when the master says the
// ramp-up is complete (Locust's --reset-stats on workers).
func WithResetStatsOnSpawningComplete(on bool) Option { return func(w *Worker) { w.resetStats = on } }

// WithTags sets the worker's own -T/--tags and -E/--exclude-tags, used
// when the master's spawn sets none (see TagFilter).
func WithTags(include, exclude []string) Option {
	return func(w *Worker) { w.tags, w.excludeTags = include, exclude }
}

// WithWaitAfterStop adds a delay between client_stopped and client_ready
// (LOCUST_WORKER_ADDITIONAL_WAIT_BEFORE_READY_AFTER_STOP).
func WithWaitAfterStop(d time.Duration) Option { return func(w *Worker) { w.waitAfterStop = d } }

// OnMessage registers a handler for a custom message type from the master.
func OnMessage(typ string, h MessageHandler) Option {
	return func(w *Worker) { w.handlers[typ] = h }
}

// Worker is one Locust worker process.
type Worker struct {
	endpoint string
	nodeID   string
	version  string
	users    Users
	stats    *stats.Registry
	log      *slog.Logger
	dial     Dialer
	now      func() time.Time
	handlers map[string]MessageHandler
	// gen samples the worker's CPU, memory and cgroup for its heartbeats
	// (generator.go); owned by Run's goroutine but for its Load, which
	// Load reads under its mutex.
	gen        *generator
	cgroupRoot string

	heartbeatEvery, reportEvery       time.Duration
	connectEvery                      time.Duration
	connectRetries                    int
	resetAfter, reregisterAfter       time.Duration
	deafAfter, finalWait              time.Duration
	masterTimeout                     time.Duration
	waitAfterStop                     time.Duration
	redialDelay                       time.Duration
	resetStats                        bool
	tags, excludeTags                 []string // own -T/-E (WithTags)
	logSource                         LogSource
	logEvery                          time.Duration
	outbox                            chan protocol.Payload // from other goroutines
	registered                        atomic.Bool           // acked by the current master
	stateMu                           sync.Mutex
	state                             string
	index                             int64
	slot                              int64 // data slot: the ack's glocust_slot, else index
	parsedOptions                     *protocol.Map
	host                              string
	stopTimeout                       time.Duration
	lastSpawn                         float64
	droppedExceptions, sentExceptions int64
	// unknownReported holds the classes of this test's spawns that users
	// lacks, each reported to the master once (owned by Run's goroutine).
	unknownReported map[string]bool
	// masterVersion is the Locust version the master is assumed to run
	// (worker/dialect.go); owned by Run's goroutine once Run started.
	masterVersion             protocol.Version
	lostReports, lostRequests int64 // possibly lost (see loop.logLost); loop goroutine only
}

// New returns a worker that will connect to tcp://host:port.
func New(masterHost string, masterPort int, users Users, reg *stats.Registry, opts ...Option) *Worker {
	w := &Worker{
		endpoint:        "tcp://" + net.JoinHostPort(masterHost, strconv.Itoa(masterPort)),
		version:         DefaultLocustVersion,
		users:           users,
		stats:           reg,
		log:             slog.Default(),
		dial:            defaultDial,
		now:             time.Now,
		handlers:        map[string]MessageHandler{},
		heartbeatEvery:  DefaultHeartbeatInterval,
		reportEvery:     DefaultReportInterval,
		connectEvery:    DefaultConnectRetryInterval,
		connectRetries:  DefaultConnectRetries,
		resetAfter:      DefaultResetAfter,
		reregisterAfter: DefaultReregisterAfter,
		deafAfter:       DefaultDeafAfter,
		finalWait:       DefaultFinalWait,
		masterTimeout:   DefaultMasterHeartbeatTimeout,
		outbox:          make(chan protocol.Payload, 1024),
		state:           protocol.StateReady,
		index:           -1,
		slot:            -1,
		redialDelay:     time.Second,
	}
	for _, o := range opts {
		o(w)
	}
	if w.nodeID == "" {
		w.nodeID = NewNodeID()
	}
	w.masterVersion = masterVersionFor(w.version)
	w.gen = newGenerator(w.cgroupRoot, w.log)
	return w
}

func defaultDial(ctx context.Context, endpoint, identity string) (zmq.Transport, error) {
	return zmq.DialDealer(ctx, endpoint, identity, zmq.WithSendTimeout(2*time.Second))
}

// NodeID returns the worker's id, "<hostname>_<32 hex>" by default.
func (w *Worker) NodeID() string {
	w.stateMu.Lock()
	defer w.stateMu.Unlock()
	return w.nodeID
}

// renewNodeID keeps the host part of the id and draws a new suffix.
func (w *Worker) renewNodeID() {
	w.stateMu.Lock()
	defer w.stateMu.Unlock()
	host := w.nodeID
	if i := strings.IndexByte(host, '_'); i >= 0 {
		host = host[:i]
	}
	w.nodeID = host + "_" + randomHex()
}

// Index returns the index the master gave in its ack (-1 before that, or
// with masters <= 2.10.2).
func (w *Worker) Index() int64 {
	w.stateMu.Lock()
	defer w.stateMu.Unlock()
	return w.index
}

// State returns "ready", "spawning" or "running".
func (w *Worker) State() string {
	w.stateMu.Lock()
	defer w.stateMu.Unlock()
	return w.state
}

// Registered reports whether the master has acknowledged this worker's
// client_ready (and the worker has not since stopped or re-registered).
func (w *Worker) Registered() bool { return w.registered.Load() }

// ParsedOptions returns the master's options from the last spawn (nil before).
func (w *Worker) ParsedOptions() *protocol.Map {
	w.stateMu.Lock()
	defer w.stateMu.Unlock()
	return w.parsedOptions
}

func (w *Worker) setState(s string) {
	w.stateMu.Lock()
	w.state = s
	w.stateMu.Unlock()
}

// SendMessage queues a custom message for the master. It never blocks; it
// reports false when the queue is full.
func (w *Worker) SendMessage(typ string, data protocol.Value) bool {
	return w.enqueue(&protocol.Custom{Type: typ, Data: data})
}

// ReportException queues an exception message (Locust's user_error). Safe
// from any goroutine; it never blocks.
func (w *Worker) ReportException(msg, traceback string) {
	w.enqueue(&protocol.Exception{Msg: msg, Traceback: traceback})
}

func (w *Worker) enqueue(p protocol.Payload) bool {
	select {
	case w.outbox <- p:
		return true
	default:
		return false
	}
}

// NewNodeID returns "<hostname>_<32 hex>" like Locust's client_id.
func NewNodeID() string {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "glocust"
	}
	return host + "_" + randomHex()
}

// epoch converts t to Locust's float epoch seconds.
func epoch(t time.Time) float64 {
	return float64(t.UnixNano()) / 1e9
}

// durationFromSeconds converts a Locust stop_timeout value (float, int or None).
func durationFromSeconds(v protocol.Value) time.Duration {
	var f float64
	switch x := v.(type) {
	case float64:
		f = x
	case int64:
		f = float64(x)
	case uint64:
		f = float64(x)
	}
	if f <= 0 || math.IsNaN(f) || f > 1e9 {
		return 0
	}
	return time.Duration(f * float64(time.Second))
}

func (w *Worker) String() string { return fmt.Sprintf("worker %s → %s", w.NodeID(), w.endpoint) }
