package config

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/glocust/glocust/internal/timespan"
)

// arity is how many values an option takes, in argparse terms.
type arity int

const (
	arityOne  arity = iota // one value (the zero value)
	arityFlag              // store_true: no value
	arityMany              // nargs="*": zero or more values
)

// special marks options that are not plain stores.
type special int

const (
	specialNone special = iota
	specialHelp
	specialVersion
	specialConfig // --config: names a config file
)

// option describes one command-line option. names are in Locust's order, which
// is the order its error messages list them ("-u/--users", "--web-port/-P").
type option struct {
	names    []string
	env      string
	group    string
	metavar  string
	help     string
	def      string // default shown in help
	arity    arity
	special  special
	hidden   bool   // Locust hides it from -h; so do we
	noEffect bool   // accepted so manifests parse, but glocust ignores it
	reject   string // Locust refuses this option with this message
	hint     string // with reject: what to use in glocust instead

	flag func(o *Options, v bool)
	one  func(o *Options, v string) error
	many func(o *Options, vs []string) error
}

// key is the option's canonical name: its first long name without dashes.
func (op *option) key() string {
	for _, n := range op.names {
		if strings.HasPrefix(n, "--") {
			return n[2:]
		}
	}
	return strings.TrimLeft(op.names[0], "-")
}

// display is the name argparse uses in errors: the names joined with "/".
func (op *option) display() string { return strings.Join(op.names, "/") }

// Group titles, in help order.
const (
	gCommon  = "Common options"
	gWeb     = "Web UI options"
	gMaster  = "Master options"
	gWorker  = "Worker options"
	gTag     = "Tag options"
	gStats   = "Request statistics options"
	gLog     = "Logging options"
	gOther   = "Other options"
	gChecks  = "locust-plugins - Checks"
	gGlocust = "glocust options"
)

var groupOrder = []string{gCommon, gWeb, gMaster, gWorker, gTag, gStats, gLog, gOther, gChecks, gGlocust}

var groupText = map[string]string{
	gMaster: "Run as the master of a distributed test; workers (Locust or glocust) connect to it.",
	gWorker: "Run as a worker of a distributed test. Workers need little besides these options; " +
		"-u, -r, -t and the like come from the master.",
	gTag: "Select tasks by the tags they carry.",
	gChecks: "locust-plugins' checks, judged by the master on the merged stats at the end: exit code 3 if one fails " +
		"(with --check-fail-ratio, failed requests alone no longer give --exit-code-on-error).",
	gGlocust: "Options of glocust's own (Locust does not have them).",
}

// Converters shared by the table.

// check reads a locust-plugins check: a float as argparse's type=float
// reads it, kept as a pointer (nil: not given).
func check(field func(*Options) **float64) func(*Options, string) error {
	return func(o *Options, v string) error {
		f, err := parseFloat(v)
		if err != nil {
			return err
		}
		*field(o) = &f
		return nil
	}
}

func str(field func(*Options) *string) func(*Options, string) error {
	return func(o *Options, v string) error { *field(o) = v; return nil }
}

func integer(field func(*Options) *int) func(*Options, string) error {
	return func(o *Options, v string) error {
		n, err := parseInt(v)
		if err != nil {
			return err
		}
		*field(o) = n
		return nil
	}
}

func seconds(field func(*Options) *time.Duration) func(*Options, string) error {
	return func(o *Options, v string) error {
		n, err := parseInt(v)
		if err != nil {
			return err
		}
		if int64(n) > math.MaxInt64/int64(time.Second) || int64(n) < math.MinInt64/int64(time.Second) {
			return fmt.Errorf("value out of range: '%s'", v)
		}
		*field(o) = time.Duration(n) * time.Second
		return nil
	}
}

// span reads a time span with Locust's messages (its parse_timespan's
// ValueError texts).
func span(field func(*Options) *time.Duration) func(*Options, string) error {
	return func(o *Options, v string) error {
		d, err := timespan.Parse(v)
		switch {
		case v == "":
			return errors.New("Invalid time span format")
		case errors.Is(err, timespan.ErrRange):
			return errors.New("Time span out of range")
		case err != nil:
			return errors.New("Invalid time span format. Valid formats: 20, 20s, 3m, 2h, 1h20m, 3h30m10s, etc.")
		}
		*field(o) = d
		return nil
	}
}

func boolean(field func(*Options) *bool) func(*Options, bool) {
	return func(o *Options, v bool) { *field(o) = v }
}

// options is the table of every option, in Locust's registration order (which
// fixes the order of "ambiguous option" candidates), glocust's own last.
var options = []*option{
	{names: []string{"-h", "--help"}, group: gCommon, arity: arityFlag, special: specialHelp,
		help: "Show this help message and exit."},
	{names: []string{"-f", "--locustfile"}, env: "LOCUST_LOCUSTFILE", group: gCommon, metavar: "<filename>", def: "locustfile.py",
		help: "The test to run: a glocust YAML scenario, or a comma-separated list of files. " +
			"'-' makes a worker fetch it from the master.",
		one: str(func(o *Options) *string { return &o.Locustfile })},
	{names: []string{"--config"}, group: gCommon, metavar: "<filename>", special: specialConfig,
		help: "Read more options from this file (key = value lines, like locust.conf). " +
			"./locust.conf and ~/.locust.conf are read too, with lower precedence.",
		one: str(func(o *Options) *string { return &o.Config })},
	{names: []string{"-H", "--host"}, env: "LOCUST_HOST", group: gCommon, metavar: "<base url>",
		help: "Base URL of the system under test, e.g. https://www.example.com.",
		one:  str(func(o *Options) *string { return &o.Host })},
	{names: []string{"-u", "--users"}, env: "LOCUST_USERS", group: gCommon, metavar: "<int>",
		help: "Peak number of concurrent users (with --headless or --autostart; 1 if unset).",
		one:  integer(func(o *Options) *int { return &o.Users })},
	{names: []string{"-r", "--spawn-rate"}, env: "LOCUST_SPAWN_RATE", group: gCommon, metavar: "<float>",
		help: "Users started per second (with --headless or --autostart; 1 if unset).",
		one: func(o *Options, v string) error {
			f, err := parseFloat(v)
			switch {
			case err != nil:
				return err
			case math.IsInf(f, 0) || math.IsNaN(f):
				return errors.New("must be a finite number")
			case f <= 0:
				return errors.New("must be > 0")
			}
			o.SpawnRate = f
			return nil
		}},
	{names: []string{"-t", "--run-time"}, env: "LOCUST_RUN_TIME", group: gCommon, metavar: "<time string>",
		help: "Stop after this long, e.g. 300s, 20m, 3h, 1h30m (with --headless or --autostart). Default: run until stopped.",
		one:  span(func(o *Options) *time.Duration { return &o.RunTime })},
	{names: []string{"-l", "--list"}, group: gCommon, arity: arityFlag,
		help: "List the user classes and exit.",
		flag: boolean(func(o *Options) *bool { return &o.List })},
	{names: []string{"--config-users"}, env: "LOCUST_CONFIG_USERS", group: gCommon, metavar: "[CONFIG_USERS ...]", arity: arityMany,
		help: "User class settings as JSON objects with a user_class_name, or .json files holding them.",
		many: func(o *Options, vs []string) error { o.ConfigUsers = append([]string{}, vs...); return nil }},

	{names: []string{"--web-host"}, env: "LOCUST_WEB_HOST", group: gWeb, metavar: "<ip>",
		help: "Interface the HTTP API binds to. Default: '*' (all interfaces).",
		one:  str(func(o *Options) *string { return &o.WebHost })},
	{names: []string{"--web-host-display-name"}, env: "LOCUST_WEB_HOST_DISPLAY_NAME", group: gWeb, hidden: true,
		one: str(func(o *Options) *string { return &o.WebHostDisplayName })},
	{names: []string{"--web-port", "-P"}, env: "LOCUST_WEB_PORT", group: gWeb, metavar: "<port number>", def: "8089",
		help: "Port of the HTTP API.",
		one:  integer(func(o *Options) *int { return &o.WebPort })},
	{names: []string{"--headless"}, env: "LOCUST_HEADLESS", group: gWeb, arity: arityFlag,
		help: "No HTTP API; start the test at once. Use -u and -t to set users and run time.",
		flag: boolean(func(o *Options) *bool { return &o.Headless })},
	{names: []string{"--autostart"}, env: "LOCUST_AUTOSTART", group: gWeb, arity: arityFlag,
		help: "Start the test at once but keep the HTTP API.",
		flag: boolean(func(o *Options) *bool { return &o.Autostart })},
	{names: []string{"--autoquit"}, env: "LOCUST_AUTOQUIT", group: gWeb, metavar: "<seconds>", def: "-1 (never)",
		help: "With --autostart, exit this many seconds after the test ends.",
		one:  seconds(func(o *Options) *time.Duration { return &o.Autoquit })},
	{names: []string{"--headful"}, env: "LOCUST_HEADFUL", group: gWeb, arity: arityFlag, hidden: true,
		flag: boolean(func(o *Options) *bool { return &o.Headful })},
	// Locust 2.47 refuses --web-auth (exit 2); glocust does too rather than
	// serve basic auth with a plain-text password that Locust 2.20 also sent
	// to every worker in parsed_options.
	{names: []string{"--web-auth"}, env: "LOCUST_WEB_AUTH", group: gWeb, metavar: "<username:password>", hidden: true,
		reject: "The --web-auth parameters has been replaced with --web-login.",
		hint:   "glocust: use --web-login with --web-login-file, an htpasswd file of bcrypt hashes"},
	{names: []string{"--web-login"}, env: "LOCUST_WEB_LOGIN", group: gWeb, arity: arityFlag,
		help: "Master: require a login for the HTTP API except /healthz, /readyz and /metrics: a login page for browsers, " +
			"HTTP basic auth for scripts, for the users of --web-login-file.",
		flag: boolean(func(o *Options) *bool { return &o.WebLogin })},
	{names: []string{"--tls-cert"}, env: "LOCUST_TLS_CERT", group: gWeb, metavar: "<filename>",
		help: "Master: serve the HTTP API over HTTPS with this certificate (PEM: the server's, then any intermediates; needs --tls-key).",
		one:  str(func(o *Options) *string { return &o.TLSCert })},
	{names: []string{"--tls-key"}, env: "LOCUST_TLS_KEY", group: gWeb, metavar: "<filename>",
		help: "Private key (PEM) of --tls-cert.",
		one:  str(func(o *Options) *string { return &o.TLSKey })},
	{names: []string{"--class-picker"}, env: "LOCUST_USERCLASS_PICKER", group: gWeb, arity: arityFlag,
		help: "Let POST /swarm choose the user classes (user_classes form fields).",
		flag: boolean(func(o *Options) *bool { return &o.ClassPicker })},
	{names: []string{"--build-path"}, env: "LOCUST_BUILD_PATH", group: gWeb, hidden: true, noEffect: true,
		one: str(func(o *Options) *string { return &o.BuildPath })},
	{names: []string{"--legacy-ui"}, env: "LOCUST_LEGACY_UI", group: gWeb, arity: arityFlag, hidden: true,
		reject: "--legacy-ui is no longer supported, remove the parameter to continue"},

	{names: []string{"--master"}, env: "LOCUST_MODE_MASTER", group: gMaster, arity: arityFlag,
		help: "Run as a master that workers connect to.",
		flag: boolean(func(o *Options) *bool { return &o.Master })},
	{names: []string{"--master-bind-host"}, env: "LOCUST_MASTER_BIND_HOST", group: gMaster, metavar: "<ip>", def: "*",
		help: "Interface the master listens on ('*' = all).",
		one:  str(func(o *Options) *string { return &o.MasterBindHost })},
	{names: []string{"--master-bind-port"}, env: "LOCUST_MASTER_BIND_PORT", group: gMaster, metavar: "<port number>", def: "5557",
		help: "Port the master listens on.",
		one:  integer(func(o *Options) *int { return &o.MasterBindPort })},
	{names: []string{"--expect-workers"}, env: "LOCUST_EXPECT_WORKERS", group: gMaster, metavar: "<int>", def: "1",
		help: "With --headless or --autostart, wait for this many workers before starting.",
		one: func(o *Options, v string) error {
			n, err := parseInt(v)
			if err != nil {
				return err
			}
			if n < 1 {
				return fmt.Errorf("Invalid --expect-workers argument (%d), must be a positive number", n)
			}
			o.ExpectWorkers = n
			return nil
		}},
	{names: []string{"--expect-workers-max-wait"}, env: "LOCUST_EXPECT_WORKERS_MAX_WAIT", group: gMaster, metavar: "<int>", def: "0 (forever)",
		help: "Seconds to wait for --expect-workers before giving up with exit code 1.",
		one:  seconds(func(o *Options) *time.Duration { return &o.ExpectWorkersMaxWait })},
	{names: []string{"--enable-rebalancing"}, group: gMaster, arity: arityFlag,
		help: "Redistribute users when workers join or leave during a test.",
		flag: boolean(func(o *Options) *bool { return &o.EnableRebalancing })},
	{names: []string{"--expect-slaves"}, group: gMaster, arity: arityFlag, hidden: true,
		reject: "The --expect-slaves parameter has been renamed --expect-workers"},

	{names: []string{"--worker"}, env: "LOCUST_MODE_WORKER", group: gWorker, arity: arityFlag,
		help: "Run as a worker of the master at --master-host:--master-port.",
		flag: boolean(func(o *Options) *bool { return &o.Worker })},
	{names: []string{"--processes"}, env: "LOCUST_PROCESSES", group: gWorker, metavar: "<int>",
		help: "Run this many worker processes (-1 = one per CPU). Without --worker, this process is their master.",
		one:  integer(func(o *Options) *int { return &o.Processes })},
	{names: []string{"--slave"}, group: gWorker, arity: arityFlag, hidden: true,
		reject: "The --slave parameter has been renamed --worker"},
	{names: []string{"--master-host"}, env: "LOCUST_MASTER_NODE_HOST", group: gWorker, metavar: "<hostname>", def: "127.0.0.1",
		help: "Host of the master to connect to.",
		one:  str(func(o *Options) *string { return &o.MasterHost })},
	{names: []string{"--master-port"}, env: "LOCUST_MASTER_NODE_PORT", group: gWorker, metavar: "<port number>", def: "5557",
		help: "Port of the master to connect to.",
		one:  integer(func(o *Options) *int { return &o.MasterPort })},
	{names: []string{"--web-base-path"}, env: "LOCUST_WEB_BASE_PATH", group: gWeb, metavar: "WEB_BASE_PATH",
		help: "Path prefix of the HTTP API, e.g. /locust. Must start with '/'.",
		one:  str(func(o *Options) *string { return &o.WebBasePath })},

	{names: []string{"-T", "--tags"}, env: "LOCUST_TAGS", group: gTag, metavar: "[<tag> ...]", arity: arityMany,
		help: "Run only tasks with at least one of these tags.",
		many: func(o *Options, vs []string) error { o.Tags = append([]string{}, vs...); return nil }},
	{names: []string{"-E", "--exclude-tags"}, env: "LOCUST_EXCLUDE_TAGS", group: gTag, metavar: "[<tag> ...]", arity: arityMany,
		help: "Skip tasks with any of these tags.",
		many: func(o *Options, vs []string) error { o.ExcludeTags = append([]string{}, vs...); return nil }},

	{names: []string{"--csv"}, env: "LOCUST_CSV", group: gStats, metavar: "<filename>",
		help: "Write stats as CSV to <filename>_stats.csv, _stats_history.csv and _failures.csv (folders are created).",
		one:  str(func(o *Options) *string { return &o.CSVPrefix })},
	{names: []string{"--csv-full-history"}, env: "LOCUST_CSV_FULL_HISTORY", group: gStats, arity: arityFlag,
		help: "Also write every entry, not only Aggregated, to _stats_history.csv. Needs --csv.",
		flag: boolean(func(o *Options) *bool { return &o.CSVFullHistory })},
	{names: []string{"--print-stats"}, env: "LOCUST_PRINT_STATS", group: gStats, arity: arityFlag,
		help: "Print stats periodically, also when not headless.",
		flag: boolean(func(o *Options) *bool { return &o.PrintStats })},
	{names: []string{"--only-summary"}, env: "LOCUST_ONLY_SUMMARY", group: gStats, arity: arityFlag,
		help: "Print only the final summary, not periodic stats.",
		flag: boolean(func(o *Options) *bool { return &o.OnlySummary })},
	{names: []string{"--reset-stats"}, env: "LOCUST_RESET_STATS", group: gStats, arity: arityFlag,
		help: "Reset stats when spawning completes. Set it on the master and the workers.",
		flag: boolean(func(o *Options) *bool { return &o.ResetStats })},
	{names: []string{"--html"}, env: "LOCUST_HTML", group: gStats, metavar: "<filename>",
		help: "Write an HTML report here; {u}, {r} and {t} become users, spawn rate and run time.",
		one:  str(func(o *Options) *string { return &o.HTMLFile })},
	{names: []string{"--json"}, group: gStats, arity: arityFlag,
		help: "Print the final stats as JSON on stdout.",
		flag: boolean(func(o *Options) *bool { return &o.JSON })},
	{names: []string{"--json-file"}, group: gStats, metavar: "<filename>",
		help: "Write the final stats as JSON to this file.",
		one:  str(func(o *Options) *string { return &o.JSONFile })},

	{names: []string{"--skip-log-setup"}, env: "LOCUST_SKIP_LOG_SETUP", group: gLog, arity: arityFlag, noEffect: true,
		help: "Python logging configuration.",
		flag: boolean(func(o *Options) *bool { return &o.SkipLogSetup })},
	{names: []string{"--loglevel", "-L"}, env: "LOCUST_LOGLEVEL", group: gLog, metavar: "<level>", def: "INFO",
		help: "DEBUG, INFO, WARNING, ERROR or CRITICAL (any case).",
		one: func(o *Options, v string) error {
			u := strings.ToUpper(v)
			switch u {
			case "DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL":
				o.LogLevel = u
				return nil
			}
			return fmt.Errorf("invalid choice: '%s' (choose from 'DEBUG', 'INFO', 'WARNING', 'ERROR', 'CRITICAL')", u)
		}},
	{names: []string{"--logfile"}, env: "LOCUST_LOGFILE", group: gLog, metavar: "<filename>",
		help: "Write the log to this file instead of stderr.",
		one:  str(func(o *Options) *string { return &o.LogFile })},

	{names: []string{"--show-task-ratio"}, group: gOther, arity: arityFlag,
		help: "Print the user classes' task ratios as a table and exit.",
		flag: boolean(func(o *Options) *bool { return &o.ShowTaskRatio })},
	{names: []string{"--show-task-ratio-json"}, group: gOther, arity: arityFlag,
		help: "Print the user classes' task ratios as JSON and exit.",
		flag: boolean(func(o *Options) *bool { return &o.ShowTaskRatioJSON })},
	{names: []string{"--version", "-V"}, group: gOther, arity: arityFlag, special: specialVersion,
		help: "Show the version and exit."},
	{names: []string{"--exit-code-on-error"}, env: "LOCUST_EXIT_CODE_ON_ERROR", group: gOther, metavar: "<int>", def: "1",
		help: "Exit code when the test had any failure or error.",
		one:  integer(func(o *Options) *int { return &o.ExitCodeOnError })},
	{names: []string{"-s", "--stop-timeout"}, env: "LOCUST_STOP_TIMEOUT", group: gOther, metavar: "<number>", def: "0",
		help: "How long a stopping user may finish its current task (a time span: 30, 30s, 1m). " +
			"Distributed: only the master's value counts.",
		one: span(func(o *Options) *time.Duration { return &o.StopTimeout })},
	{names: []string{"--equal-weights"}, group: gOther, arity: arityFlag,
		help: "Give every task the same weight, ignoring the configured ones.",
		flag: boolean(func(o *Options) *bool { return &o.EqualWeights })},
	{names: []string{"--profile"}, group: gOther, metavar: "PROFILE",
		help: "A label that groups test runs together.",
		one:  str(func(o *Options) *string { return &o.Profile })},
	{names: []string{"--otel"}, env: "LOCUST_ENABLE_OPENTELEMETRY", group: gOther, arity: arityFlag,
		help: "Export metrics with OpenTelemetry: the master the run's (requests, latency, users, workers), a worker its own load. " +
			"The OTEL_* variables configure it, as in Locust: OTEL_METRICS_EXPORTER, OTEL_EXPORTER_OTLP_ENDPOINT, " +
			"OTEL_EXPORTER_OTLP_PROTOCOL, OTEL_SERVICE_NAME, ...",
		flag: boolean(func(o *Options) *bool { return &o.OTel })},

	{names: []string{"--check-rps"}, env: "LOCUST_CHECK_RPS", group: gChecks, metavar: "<float>",
		help: "Requests per second: fail if the test's total RPS is below this.",
		one:  check(func(o *Options) **float64 { return &o.CheckRPS })},
	{names: []string{"--check-fail-ratio"}, env: "LOCUST_CHECK_FAIL_RATIO", group: gChecks, metavar: "<float>",
		help: "Ratio of failed requests (0.0-1.0): fail if the test's is above this.",
		one:  check(func(o *Options) **float64 { return &o.CheckFailRatio })},
	{names: []string{"--check-avg-response-time"}, env: "LOCUST_CHECK_AVG_RESPONSE_TIME", group: gChecks, metavar: "<float>",
		help: "Average response time (ms): fail if the test's is above this.",
		one:  check(func(o *Options) **float64 { return &o.CheckAvgResponseTime })},

	{names: []string{"--summary-json"}, env: "GLOCUST_SUMMARY_JSON", group: gGlocust, metavar: "<filename>",
		help: "Write the run's verdict as JSON to this file at the end: each threshold (scenario thresholds: and --check-*) " +
			"with its measured value and PASS/FAIL, the exit code and why, the load shape's changes. --json is left as Locust's.",
		one: str(func(o *Options) *string { return &o.SummaryJSON })},
	{names: []string{"--results-in-log"}, env: "GLOCUST_RESULTS_IN_LOG", group: gGlocust, arity: arityFlag,
		help: "Master: end the log with the files of --csv, --html, --json-file and --summary-json, as a base64 tar.gz between " +
			"marker lines (up to 4 MiB compressed), so a finished Kubernetes Job's results come out of its log with one command (deploy/README.md).",
		flag: boolean(func(o *Options) *bool { return &o.ResultsInLog })},
	{names: []string{"--locust-version"}, env: "GLOCUST_LOCUST_VERSION", group: gGlocust, metavar: "<version>", def: DefaultLocustVersion,
		help: "Worker: the Locust version announced to the master, which should be the master's (a Locust master warns about any other); the worker sends only the messages that version handles. '-1' skips the master's version check. Master: the version workers are compared with.",
		one: func(o *Options, v string) error {
			if strings.TrimSpace(v) == "" {
				return errors.New("must not be empty (use -1 to skip the version check)")
			}
			o.LocustVersion = v
			return nil
		}},
	{names: []string{"--rebalance-at-spawn-rate"}, env: "GLOCUST_REBALANCE_AT_SPAWN_RATE", group: gGlocust, arity: arityFlag,
		help: "When rebalancing, move users at --spawn-rate instead of all at once (Locust issue #2332).",
		flag: boolean(func(o *Options) *bool { return &o.RebalanceAtSpawnRate })},
	{names: []string{"--latency-correction"}, env: "GLOCUST_LATENCY_CORRECTION", group: gGlocust, arity: arityFlag,
		help: "Correct coordinated omission: users with constant_pacing/constant_throughput keep a fixed schedule (late starts are caught up) and record each request from its intended start, as wrk2 does. The uncorrected figures are printed beside them (and written to <csv>_stats_uncorrected.csv).",
		flag: boolean(func(o *Options) *bool { return &o.LatencyCorrection })},
	{names: []string{"--master-batch-interval"}, env: "GLOCUST_MASTER_BATCH_INTERVAL", group: gGlocust, metavar: "<duration>", def: "50ms",
		help: "Master: how long the worker connections' poller gathers messages between rounds (Go duration, e.g. 20ms). Longer rounds cost fewer wake-ups per worker and delay the handling of a message by at most the interval (a message after a quiet spell is handled at once); a negative value serves each connection from its own goroutines.",
		one: func(o *Options, v string) error {
			d, err := time.ParseDuration(v)
			if err != nil {
				return fmt.Errorf("want a duration such as 50ms: %w", err)
			}
			o.MasterBatchInterval = d
			return nil
		}},
	{names: []string{"--max-request-names"}, env: "GLOCUST_MAX_REQUEST_NAMES", group: gGlocust, metavar: "<int>", def: "10000",
		help: "Most distinct request names (method and name) the stats keep, on a worker and on the master, and most distinct error texts. Further names are counted as one row per method, further errors as one per name, with a warning; Locust has no such cap.",
		one: func(o *Options, v string) error {
			n, err := parseInt(v)
			if err != nil {
				return err
			}
			if n < 1 {
				return fmt.Errorf("must be a positive number, not %d", n)
			}
			o.MaxRequestNames = n
			return nil
		}},
	{names: []string{"--web-login-file"}, env: "GLOCUST_WEB_LOGIN_FILE", group: gGlocust, metavar: "<filename>",
		help: "Master: the users who may log in to the HTTP API, one user:bcrypt-hash line each (htpasswd -B format, " +
			"e.g. a mounted Kubernetes Secret). Implies --web-login.",
		one: str(func(o *Options) *string { return &o.WebLoginFile })},
	{names: []string{"--web-login-metrics"}, env: "GLOCUST_WEB_LOGIN_METRICS", group: gGlocust, arity: arityFlag,
		help: "Master: with --web-login, /metrics requires a login too (Prometheus: basic_auth). Default: /metrics is open, as /healthz.",
		flag: boolean(func(o *Options) *bool { return &o.WebLoginMetrics })},
	{names: []string{"--max-frame-size"}, env: "GLOCUST_MAX_FRAME_SIZE", group: gGlocust, metavar: "<bytes>", def: "64MiB",
		help: "Largest ZeroMQ frame accepted from a peer (bytes, or with KiB/MiB/GiB); 0 = no limit.",
		one: func(o *Options, v string) error {
			n, err := parseByteSize(v)
			if err != nil {
				return err
			}
			o.MaxFrameSize = n
			return nil
		}},
	{names: []string{"--var"}, env: "GLOCUST_VAR", group: gGlocust, metavar: "[<name>=<value> ...]", arity: arityMany,
		help: "Set variables the scenario declares in vars (its custom arguments): the value wins over the scenario's; a master sends it to its workers in parsed_options, as Locust sends custom arguments.",
		many: func(o *Options, vs []string) error {
			if o.Vars == nil {
				o.Vars = map[string]string{}
			}
			for _, v := range vs {
				name, val, ok := strings.Cut(v, "=")
				if !ok || !isVarName(name) {
					return fmt.Errorf("%q is not <name>=<value> with a variable name (letters, digits and _)", v)
				}
				o.Vars[name] = val
			}
			return nil
		}},
	{names: []string{"--seed"}, env: "GLOCUST_SEED", group: gGlocust, metavar: "<int>",
		help: "Seed every user's random values (uuid(), randint, choice, wchoice, the fake data, task picks and waits) from this number, the class and the user's number on this worker, so that a run can be repeated; wins over the scenario's seed. Give it to each worker. Default: the scenario's seed, else random.",
		one: func(o *Options, v string) error {
			n, err := strconv.ParseUint(strings.TrimSpace(v), 10, 63)
			if err != nil {
				return fmt.Errorf("must be a non-negative integer, not %q", v)
			}
			o.Seed = n
			return nil
		}},
}

// isVarName reports whether s can name a scenario variable.
func isVarName(s string) bool {
	for i, c := range s {
		if c != '_' && !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || i > 0 && c >= '0' && c <= '9') {
			return false
		}
	}
	return s != ""
}

// byName maps every option string to its option.
var byName = func() map[string]*option {
	m := make(map[string]*option)
	for _, op := range options {
		for _, n := range op.names {
			if _, dup := m[n]; dup {
				panic("config: duplicate option " + n)
			}
			m[n] = op
		}
	}
	return m
}()

// allNames lists every option string in registration order.
var allNames = func() []string {
	var out []string
	for _, op := range options {
		out = append(out, op.names...)
	}
	return out
}()

// userClassesEnv is read as the default of the positional user classes.
const userClassesEnv = "LOCUST_USER_CLASSES"

// envOnly are the settings Locust reads with os.getenv where it uses them
// (runners.py) rather than through its option parser. Parse reads them from
// its environment; a bad value is an error naming the variable (Locust
// would fail later, when it first uses the value).
var envOnly = []struct {
	env string
	set func(o *Options, v string) error
}{
	// Whole seconds, read with int() as Locust reads them.
	{"LOCUST_WORKER_ADDITIONAL_WAIT_BEFORE_READY_AFTER_STOP", seconds(func(o *Options) *time.Duration { return &o.WorkerWaitBeforeReady })},
	{"LOCUST_WAIT_FOR_WORKERS_REPORT_AFTER_RAMP_UP", func(o *Options, v string) error {
		d, err := parseReportWait(v)
		if err != nil {
			return err
		}
		o.WaitForWorkersReport = d
		return nil
	}},
}

// otherEnv are LOCUST_* and GLOCUST_* variables that are neither options nor
// envOnly but that Locust (or glocust's tests) read, so UnknownEnv must not
// flag them.
var otherEnv = []string{
	userClassesEnv,
	"LOCUST_PLAYWRIGHT",
	"LOCUST_SKIP_MONKEY_PATCH",
	"LOCUST_SKIP_URLLIB3_PATCH",
	"GLOCUST_LOCUST",
	"GLOCUST_PYTHON",
}

// defaults returns Options holding every default.
func defaults() *Options {
	return &Options{
		Locustfile:           "locustfile.py",
		WebPort:              8089,
		Autoquit:             -time.Second,
		MasterBindHost:       "*",
		MasterBindPort:       5557,
		ExpectWorkers:        1,
		MasterHost:           "127.0.0.1",
		MasterPort:           5557,
		LogLevel:             "INFO",
		ExitCodeOnError:      1,
		LocustVersion:        DefaultLocustVersion,
		MaxFrameSize:         DefaultMaxFrameSize,
		MaxRequestNames:      DefaultMaxRequestNames,
		MasterBatchInterval:  DefaultMasterBatchInterval,
		WaitForWorkersReport: DefaultWaitForWorkersReport,
		sources:              map[string]Source{},
	}
}

// validateConfigUsers checks --config-users values as Locust does: JSON objects
// (or a list of them) each naming a user_class_name; ".json" values are files.
func validateConfigUsers(vals []string, readFile func(string) ([]byte, error)) error {
	for _, v := range vals {
		data := []byte(v)
		if strings.HasSuffix(v, ".json") {
			b, err := readFile(v)
			if err != nil {
				return err
			}
			data = b
		}
		var any0 any
		if err := json.Unmarshal(data, &any0); err != nil {
			return fmt.Errorf("The --config-users argument must be a valid JSON string or file: %v", err)
		}
		list, ok := any0.([]any)
		if !ok {
			list = []any{any0}
		}
		for _, e := range list {
			m, ok := e.(map[string]any)
			if _, has := m["user_class_name"]; !ok || !has {
				return errors.New("The user config must specify a user_class_name")
			}
		}
	}
	return nil
}
