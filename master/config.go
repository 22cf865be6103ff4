package master

import (
	"io"
	"log/slog"
	"time"

	"github.com/glocust/glocust/protocol"
	"github.com/glocust/glocust/shape"
	"github.com/glocust/glocust/stats"
	"github.com/glocust/glocust/threshold"
)

// Defaults, as in Locust's runners.py.
const (
	DefaultHeartbeatInterval = time.Second      // HEARTBEAT_INTERVAL
	DefaultWaitForReports    = time.Second      // LOCUST_WAIT_FOR_WORKERS_REPORT_AFTER_RAMP_UP
	DefaultQuitWait          = time.Second      // bound on waiting for the workers' final stats
	takeBackWindow           = 10 * time.Second // a heartbeat older than this does not qualify a take-back
	// LocustVersion is the Locust version a glocust master claims.
	LocustVersion = "2.47.0"
)

// TaskInfo is one task of a user class, for /tasks.
type TaskInfo struct {
	Name   string
	Weight int
}

// Config configures a Master. Zero values take the defaults.
type Config struct {
	// Classes are the user classes (names, weights, fixed counts).
	Classes []UserClass
	// Tasks lists each class's tasks (for /tasks and the report).
	Tasks map[string][]TaskInfo
	// Host is sent in every spawn message; "" sends None.
	Host string
	// StopTimeout is sent in spawn messages and bounds Stop's wait.
	StopTimeout time.Duration
	// ParsedOptions is sent in spawn messages (Locust: vars(options)).
	ParsedOptions *protocol.Map
	// Params are the scenario's custom parameters, in the order the start
	// form shows them: a POST /swarm form key naming one sets it in the
	// parsed options of this and later spawns (Master.SetParams).
	Params []Param
	// Headless makes the master quit when its last worker quits.
	Headless bool
	// EnableRebalancing is --enable-rebalancing.
	EnableRebalancing bool
	// RebalanceAtSpawnRate is --rebalance-at-spawn-rate (glocust).
	RebalanceAtSpawnRate bool
	// ResetStats is --reset-stats: reset when the ramp-up is complete.
	ResetStats bool
	// LocustVersion is the version compared with client_ready's.
	LocustVersion string
	// WaitForReports bounds the wait for worker reports after a ramp-up.
	WaitForReports time.Duration
	// QuitWait bounds the wait for final stats after quit.
	QuitWait time.Duration
	// HeartbeatInterval is the liveness tick.
	HeartbeatInterval time.Duration
	// MaxRequestNames caps the distinct request names and error texts of
	// the merged stats (stats.AggregateMaxNames; 0: stats.DefaultMaxNames).
	MaxRequestNames int
	// Shape is the load shape (nil: none). StartShape runs a test that
	// follows it; with Headless its end quits the master, else it stops the
	// test (see package shape).
	Shape *shape.Shape
	// Thresholds are the run's pass/fail criteria (View.Thresholds); those
	// with AbortOnFail stop a test that fails them after their grace (a
	// headless master quits).
	Thresholds []threshold.Threshold
	// Profile is --profile, Locust's label that groups runs (View.Run).
	Profile string
	// RunID returns the id of a run started at start (default NewRunID;
	// tests make it deterministic).
	RunID func(start time.Time) string
	// Logger receives Locust-style messages (default: discarded).
	Logger *slog.Logger
	// Now replaces time.Now (tests).
	Now func() time.Time
}

func (c *Config) withDefaults() Config {
	o := *c
	if o.LocustVersion == "" {
		o.LocustVersion = LocustVersion
	}
	if o.WaitForReports == 0 {
		o.WaitForReports = DefaultWaitForReports
	}
	if o.QuitWait == 0 {
		o.QuitWait = DefaultQuitWait
	}
	if o.HeartbeatInterval == 0 {
		o.HeartbeatInterval = DefaultHeartbeatInterval
	}
	if o.MaxRequestNames == 0 {
		o.MaxRequestNames = stats.DefaultMaxNames
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.RunID == nil {
		o.RunID = NewRunID
	}
	if o.ParsedOptions == nil {
		o.ParsedOptions = &protocol.Map{}
	}
	return o
}
