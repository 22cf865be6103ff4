package config

import (
	"strings"
	"time"
)

// Version is glocust's version, stamped at link time:
//
//	go build -ldflags "-X github.com/glocust/glocust/internal/config.Version=v1.2.3" ./cmd/glocust
var Version = "dev"

// Defaults that are not obvious from the option table.
const (
	// DefaultLocustVersion is the Locust version a glocust worker announces in
	// client_ready and a glocust master expects from its workers.
	DefaultLocustVersion = "2.47.0"
	// DefaultMasterBatchInterval is the master's poller round.
	DefaultMasterBatchInterval = 50 * time.Millisecond
	// DefaultMaxFrameSize is the largest ZeroMQ frame glocust accepts (64 MiB).
	DefaultMaxFrameSize int64 = 64 << 20
	// DefaultMaxRequestNames is the cap on distinct request names and error
	// texts (stats.DefaultMaxNames, which config does not import).
	DefaultMaxRequestNames = 10000
	// SkipVersionCheck is the --locust-version value that skips the version check
	// (the bypass boomer uses, and that Locust masters accept).
	SkipVersionCheck = "-1"
	// DefaultWaitForWorkersReport is how long a master waits for its
	// workers' reports after a ramp-up when
	// LOCUST_WAIT_FOR_WORKERS_REPORT_AFTER_RAMP_UP is not set (Locust's 1 s).
	DefaultWaitForWorkersReport = time.Second
)

// workerReportInterval is Locust's WORKER_REPORT_INTERVAL, the unit of
// LOCUST_WAIT_FOR_WORKERS_REPORT_AFTER_RAMP_UP="k * WORKER_REPORT_INTERVAL".
const workerReportInterval = 3 * time.Second

// Mode is the role a run plays.
type Mode int

// The modes.
const (
	ModeStandalone Mode = iota // neither --master nor --worker: local runner
	ModeMaster                 // --master, or --processes without --worker
	ModeWorker                 // --worker
)

func (m Mode) String() string {
	switch m {
	case ModeMaster:
		return "master"
	case ModeWorker:
		return "worker"
	default:
		return "standalone"
	}
}

// Source says where an option's value came from.
type Source int

// The sources, lowest precedence first.
const (
	SourceDefault Source = iota
	SourceConfigFile
	SourceEnv
	SourceCommandLine
)

func (s Source) String() string {
	switch s {
	case SourceConfigFile:
		return "config file"
	case SourceEnv:
		return "environment"
	case SourceCommandLine:
		return "command line"
	default:
		return "default"
	}
}

// Options holds every Locust 2.47 option plus glocust's own. Field comments give
// the long option; durations replace Locust's integer seconds.
type Options struct {
	// Common options.
	Locustfile  string        // -f/--locustfile; comma list; "-" = download from master
	Config      string        // --config: an extra config file
	Host        string        // -H/--host
	Users       int           // -u/--users; 0 when unset (see IsSet("users"))
	SpawnRate   float64       // -r/--spawn-rate; > 0 when set
	RunTime     time.Duration // -t/--run-time; 0 = run forever
	List        bool          // -l/--list
	ConfigUsers []string      // --config-users: JSON strings or .json files, as given

	// Web UI options.
	WebHost            string        // --web-host; "" or "*" = all interfaces
	WebHostDisplayName string        // --web-host-display-name (hidden in Locust)
	WebPort            int           // -P/--web-port
	Headless           bool          // --headless (cleared by --headful)
	Autostart          bool          // --autostart
	Autoquit           time.Duration // --autoquit; negative = never (default)
	Headful            bool          // --headful (hidden): overrides --headless
	WebLogin           bool          // --web-login: the HTTP API requires a login (see WebLoginFile)
	TLSCert            string        // --tls-cert: serve the HTTP API over HTTPS
	TLSKey             string        // --tls-key
	ClassPicker        bool          // --class-picker
	BuildPath          string        // --build-path (hidden; no effect)
	WebBasePath        string        // --web-base-path

	// Master options.
	Master               bool          // --master
	MasterBindHost       string        // --master-bind-host
	MasterBindPort       int           // --master-bind-port
	ExpectWorkers        int           // --expect-workers
	ExpectWorkersMaxWait time.Duration // --expect-workers-max-wait; 0 = forever
	EnableRebalancing    bool          // --enable-rebalancing

	// Worker options.
	Worker     bool   // --worker
	Processes  int    // --processes; 0 = unset, -1 = one per CPU
	MasterHost string // --master-host
	MasterPort int    // --master-port

	// Tag options; nil = not given, empty = given without tags.
	Tags        []string // -T/--tags
	ExcludeTags []string // -E/--exclude-tags

	// Request statistics options.
	CSVPrefix      string // --csv
	CSVFullHistory bool   // --csv-full-history
	PrintStats     bool   // --print-stats
	OnlySummary    bool   // --only-summary
	ResetStats     bool   // --reset-stats
	HTMLFile       string // --html
	JSON           bool   // --json
	JSONFile       string // --json-file

	// Logging options.
	SkipLogSetup bool   // --skip-log-setup
	LogLevel     string // -L/--loglevel, upper-cased: DEBUG INFO WARNING ERROR CRITICAL
	LogFile      string // --logfile

	// Other options.
	ShowTaskRatio     bool          // --show-task-ratio
	ShowTaskRatioJSON bool          // --show-task-ratio-json
	ExitCodeOnError   int           // --exit-code-on-error
	StopTimeout       time.Duration // -s/--stop-timeout
	EqualWeights      bool          // --equal-weights
	Profile           string        // --profile
	OTel              bool          // --otel: export the run's metrics with OpenTelemetry

	// locust-plugins' checks (its "Checks" options); nil = not given.
	CheckRPS             *float64 // --check-rps
	CheckFailRatio       *float64 // --check-fail-ratio
	CheckAvgResponseTime *float64 // --check-avg-response-time

	// UserClasses are the positional user class names, or LOCUST_USER_CLASSES.
	UserClasses []string

	// glocust's own options.
	LocustVersion        string            // --locust-version: announced/expected Locust version; "-1" skips the check
	RebalanceAtSpawnRate bool              // --rebalance-at-spawn-rate: rebalancing moves users at the spawn rate
	LatencyCorrection    bool              // --latency-correction: paced users keep a fixed schedule; latencies from intended starts
	MaxFrameSize         int64             // --max-frame-size: largest accepted ZeroMQ frame in bytes; 0 = no limit
	MaxRequestNames      int               // --max-request-names: distinct request names and error texts kept in the stats
	Vars                 map[string]string // --var NAME=VALUE: values of the scenario's vars
	Seed                 uint64            // --seed: the users' random seed (when IsSet("seed"))
	MasterBatchInterval  time.Duration     // --master-batch-interval: the master poller's round; negative = a goroutine pair per connection
	SummaryJSON          string            // --summary-json: the verdict as JSON
	ResultsInLog         bool              // --results-in-log: the output files at the end of the log, as a base64 tar.gz
	WebLoginFile         string            // --web-login-file: htpasswd file (bcrypt) of the users who may log in; implies WebLogin
	WebLoginMetrics      bool              // --web-login-metrics: /metrics requires the login too

	// Settings Locust reads only from the environment (os.getenv in its
	// runners.py): no flag or config-file key sets them.
	WorkerWaitBeforeReady time.Duration // LOCUST_WORKER_ADDITIONAL_WAIT_BEFORE_READY_AFTER_STOP: whole seconds a stopped worker adds to the stop timeout before client_ready; may be negative, as in Locust
	WaitForWorkersReport  time.Duration // LOCUST_WAIT_FOR_WORKERS_REPORT_AFTER_RAMP_UP: how long a master waits for its workers' reports after a ramp-up; 0 = not at all

	// Help and ShowVersion are set by -h/--help and -V/--version. Parse returns
	// as soon as it meets one of them; the other fields then hold defaults.
	Help        bool
	ShowVersion bool

	// Warnings are messages to log once logging is set up (options with no
	// effect, files not read).
	Warnings []string

	// ConfigFiles lists the config files that were read, highest precedence first.
	ConfigFiles []string

	sources map[string]Source
}

// Mode returns the role of this run. --processes without --worker makes the
// process a master of its forked workers, as in Locust.
func (o *Options) Mode() Mode {
	switch {
	case o.Worker:
		return ModeWorker
	case o.Master || o.Processes != 0:
		return ModeMaster
	default:
		return ModeStandalone
	}
}

// Source reports where the option with this long name ("users", "spawn-rate",
// "user-classes" for the positional list) got its value.
func (o *Options) Source(name string) Source {
	return o.sources[strings.TrimLeft(name, "-")]
}

// IsSet reports whether the option was given by any source other than defaults.
func (o *Options) IsSet(name string) bool { return o.Source(name) != SourceDefault }

// Locustfiles splits Locustfile on commas, trimming spaces, as Locust does.
func (o *Options) Locustfiles() []string {
	var out []string
	for _, f := range strings.Split(o.Locustfile, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

// SkipVersionCheck reports whether --locust-version asks to skip the check.
func (o *Options) SkipVersionCheck() bool { return o.LocustVersion == SkipVersionCheck }
