package config

import (
	"errors"
	"io/fs"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/glocust/glocust/master"
	"github.com/glocust/glocust/worker"
)

// fakeFS is a Parser whose files live in a map.
func fakeFS(files map[string]string) *Parser {
	return &Parser{
		HomeDir: "/home/u",
		ReadFile: func(name string) ([]byte, error) {
			if s, ok := files[name]; ok {
				return []byte(s), nil
			}
			return nil, fs.ErrNotExist
		},
	}
}

func mustParse(t *testing.T, p *Parser, args, env []string) *Options {
	t.Helper()
	o, err := p.Parse(args, env)
	if err != nil {
		t.Fatalf("Parse(%q, %q): %v", args, env, err)
	}
	return o
}

func TestDefaults(t *testing.T) {
	t.Parallel()
	o := mustParse(t, fakeFS(nil), nil, nil)
	want := defaults()
	want.sources = o.sources
	if !reflect.DeepEqual(o, want) {
		t.Errorf("Parse(nil) = %+v\nwant %+v", o, want)
	}
	if got := o.Mode(); got != ModeStandalone {
		t.Errorf("Mode = %v", got)
	}
	if o.IsSet("users") || o.Source("--users") != SourceDefault {
		t.Error("users reported as set")
	}
	if got, want := o.Locustfiles(), []string{"locustfile.py"}; !reflect.DeepEqual(got, want) {
		t.Errorf("Locustfiles = %q", got)
	}
	if o.MaxFrameSize != 64<<20 || o.LocustVersion != "2.47.0" || o.SkipVersionCheck() || o.MaxRequestNames != 10000 {
		t.Errorf("glocust defaults: %d %q %d", o.MaxFrameSize, o.LocustVersion, o.MaxRequestNames)
	}
}

func TestPrecedence(t *testing.T) {
	t.Parallel()
	files := map[string]string{
		"/home/u/.locust.conf": "users = 1\nspawn-rate = 1\nhost = home\nrun-time = 1m\nheadless = true\n",
		"locust.conf":          "users = 2\nspawn-rate = 2\nhost = cwd\n",
		"extra.conf":           "users = 3\n",
	}
	tests := []struct {
		name  string
		args  []string
		env   []string
		users int
		rate  float64
		host  string
		src   Source // of users
	}{
		{"files only", nil, nil, 2, 2, "cwd", SourceConfigFile},
		{"--config beats locust.conf", []string{"--config", "extra.conf"}, nil, 3, 2, "cwd", SourceConfigFile},
		{"env beats files", []string{"--config=extra.conf"}, []string{"LOCUST_USERS=4", "LOCUST_HOST=envhost"}, 4, 2, "envhost", SourceEnv},
		{"command line beats env", []string{"-u", "5", "--config", "extra.conf"}, []string{"LOCUST_USERS=4"}, 5, 2, "cwd", SourceCommandLine},
		{"abbreviation counts as the option", []string{"--user", "6"}, []string{"LOCUST_USERS=4"}, 6, 2, "cwd", SourceCommandLine},
		{"last occurrence wins", []string{"-u", "5", "--users=7"}, nil, 7, 2, "cwd", SourceCommandLine},
		{"later env duplicate wins", nil, []string{"LOCUST_USERS=8", "LOCUST_USERS=9"}, 9, 2, "cwd", SourceEnv},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			o := mustParse(t, fakeFS(files), tc.args, tc.env)
			if o.Users != tc.users || o.SpawnRate != tc.rate || o.Host != tc.host || o.Source("users") != tc.src {
				t.Errorf("users %d rate %v host %q src %v; want %d %v %q %v", o.Users, o.SpawnRate, o.Host, o.Source("users"), tc.users, tc.rate, tc.host, tc.src)
			}
			if o.RunTime != time.Minute || !o.Headless {
				t.Errorf("~/.locust.conf values lost: run-time %v headless %v", o.RunTime, o.Headless)
			}
		})
	}
}

func TestPrecedenceFlags(t *testing.T) {
	t.Parallel()
	p := fakeFS(map[string]string{"locust.conf": "headless = true\nreset-stats\n"})
	// A flag set to false in the environment overrides true in a file.
	o := mustParse(t, p, nil, []string{"LOCUST_HEADLESS=false"})
	if o.Headless || !o.ResetStats || o.Source("headless") != SourceEnv {
		t.Errorf("headless %v reset %v src %v", o.Headless, o.ResetStats, o.Source("headless"))
	}
	// The command line can only turn a flag on; it beats env false.
	o = mustParse(t, p, []string{"--headless"}, []string{"LOCUST_HEADLESS=no"})
	if !o.Headless {
		t.Error("--headless lost to env")
	}
	// --headful clears headless from any source.
	o = mustParse(t, p, []string{"--headful"}, nil)
	if o.Headless {
		t.Error("--headful did not clear headless")
	}
}

func TestOverriddenValuesAreNotChecked(t *testing.T) {
	t.Parallel()
	p := fakeFS(map[string]string{"locust.conf": "users = many\nrun-time = soon\n"})
	o := mustParse(t, p, []string{"-u", "3", "-r", "1"}, []string{"LOCUST_SPAWN_RATE=x", "LOCUST_USERS=y", "LOCUST_RUN_TIME=2m"})
	if o.Users != 3 || o.SpawnRate != 1 || o.RunTime != 2*time.Minute {
		t.Errorf("got %d %v %v", o.Users, o.SpawnRate, o.RunTime)
	}
}

func TestSpecialEnvNames(t *testing.T) {
	t.Parallel()
	tests := []struct {
		env   string
		check func(o *Options) bool
	}{
		{"LOCUST_MODE_MASTER=true", func(o *Options) bool { return o.Master && o.Mode() == ModeMaster }},
		{"LOCUST_MODE_WORKER=1", func(o *Options) bool { return o.Worker && o.Mode() == ModeWorker }},
		{"LOCUST_MASTER_NODE_HOST=locust-master", func(o *Options) bool { return o.MasterHost == "locust-master" }},
		{"LOCUST_MASTER_NODE_PORT=6557", func(o *Options) bool { return o.MasterPort == 6557 }},
		{"LOCUST_MASTER_BIND_HOST=0.0.0.0", func(o *Options) bool { return o.MasterBindHost == "0.0.0.0" }},
		{"LOCUST_MASTER_BIND_PORT=6558", func(o *Options) bool { return o.MasterBindPort == 6558 }},
		{"LOCUST_LOCUSTFILE=a.yaml,b.yaml", func(o *Options) bool { return reflect.DeepEqual(o.Locustfiles(), []string{"a.yaml", "b.yaml"}) }},
		{"LOCUST_USERS=10", func(o *Options) bool { return o.Users == 10 }},
		{"LOCUST_SPAWN_RATE=0.5", func(o *Options) bool { return o.SpawnRate == 0.5 }},
		{"LOCUST_RUN_TIME=1h30m", func(o *Options) bool { return o.RunTime == 90*time.Minute }},
		{"LOCUST_HOST=http://sut", func(o *Options) bool { return o.Host == "http://sut" }},
		{"LOCUST_LOGLEVEL=warning", func(o *Options) bool { return o.LogLevel == "WARNING" }},
		{"LOCUST_USER_CLASSES=A  B", func(o *Options) bool {
			return reflect.DeepEqual(o.UserClasses, []string{"A", "B"}) && o.Source("user-classes") == SourceEnv
		}},
		{"LOCUST_TAGS=[a, b]", func(o *Options) bool { return reflect.DeepEqual(o.Tags, []string{"a", "b"}) }},
		{`LOCUST_EXCLUDE_TAGS=["x y"]`, func(o *Options) bool { return reflect.DeepEqual(o.ExcludeTags, []string{"x y"}) }},
		{"LOCUST_TAGS=a b", func(o *Options) bool { return reflect.DeepEqual(o.Tags, []string{"a b"}) }},
		{"LOCUST_TAGS=", func(o *Options) bool { return o.Tags == nil && !o.IsSet("tags") }},
		{"LOCUST_STOP_TIMEOUT=1m", func(o *Options) bool { return o.StopTimeout == time.Minute }},
		{"LOCUST_USERCLASS_PICKER=yes", func(o *Options) bool { return o.ClassPicker }},
		{"LOCUST_ENABLE_OPENTELEMETRY=on", func(o *Options) bool { return o.OTel && len(o.Warnings) == 0 }}, // it works: no "no effect" warning
		{"LOCUST_CSV_FULL_HISTORY=false", func(o *Options) bool { return !o.CSVFullHistory && o.IsSet("csv-full-history") }},
		{"LOCUST_EXPECT_WORKERS_MAX_WAIT=30", func(o *Options) bool { return o.ExpectWorkersMaxWait == 30*time.Second }},
		{"LOCUST_HTML=r.html", func(o *Options) bool { return o.HTMLFile == "r.html" }},
		{"LOCUST_CSV=out/run", func(o *Options) bool { return o.CSVPrefix == "out/run" }},
		{"GLOCUST_LOCUST_VERSION=-1", func(o *Options) bool { return o.SkipVersionCheck() }},
		{"GLOCUST_MAX_FRAME_SIZE=2MiB", func(o *Options) bool { return o.MaxFrameSize == 2<<20 }},
		{"GLOCUST_MAX_REQUEST_NAMES=500", func(o *Options) bool { return o.MaxRequestNames == 500 }},
		{"GLOCUST_VAR=[a=1, b=x=y]", func(o *Options) bool { return reflect.DeepEqual(o.Vars, map[string]string{"a": "1", "b": "x=y"}) }},
		{"GLOCUST_MASTER_BATCH_INTERVAL=-1s", func(o *Options) bool { return o.MasterBatchInterval == -time.Second }},
		{"GLOCUST_REBALANCE_AT_SPAWN_RATE=TRUE", func(o *Options) bool { return o.RebalanceAtSpawnRate }},
		// Names that look right but that Locust does not read.
		{"LOCUST_CONFIG=x.conf", func(o *Options) bool { return o.Config == "" && len(o.ConfigFiles) == 0 }},
		{"LOCUST_MODE=MASTER", func(o *Options) bool { return o.Mode() == ModeStandalone }},
		{"LOCUST_ENABLE_REBALANCING=true", func(o *Options) bool { return !o.EnableRebalancing }},
		{"LOCUST_JSON=true", func(o *Options) bool { return !o.JSON }},
	}
	for _, tc := range tests {
		o := mustParse(t, fakeFS(nil), nil, []string{tc.env})
		if !tc.check(o) {
			t.Errorf("%s: wrong result %+v", tc.env, o)
		}
	}
}

// TestEnvOnlySettings: the settings Locust reads only from the environment,
// with Locust's syntax and defaults.
func TestEnvOnlySettings(t *testing.T) {
	t.Parallel()
	const (
		wait   = "LOCUST_WORKER_ADDITIONAL_WAIT_BEFORE_READY_AFTER_STOP"
		report = "LOCUST_WAIT_FOR_WORKERS_REPORT_AFTER_RAMP_UP"
	)
	o := mustParse(t, fakeFS(nil), nil, nil)
	if o.WorkerWaitBeforeReady != 0 || o.WaitForWorkersReport != time.Second {
		t.Errorf("defaults: wait %v, report %v; want 0, 1s", o.WorkerWaitBeforeReady, o.WaitForWorkersReport)
	}
	for _, tc := range []struct {
		env  string
		want time.Duration
	}{
		{wait + "=5", 5 * time.Second},
		{wait + "= +1_0 ", 10 * time.Second},
		{wait + "=-2", -2 * time.Second}, // Locust adds it to the stop timeout as is
		{wait + "=0", 0},
		{report + "=0", 0},
		{report + "=2.5", 2500 * time.Millisecond},
		{report + "= 1e1 ", 10 * time.Second},
		{report + "=1.25 * WORKER_REPORT_INTERVAL", 3750 * time.Millisecond},
		{report + "=2*WORKER_REPORT_INTERVAL", 6 * time.Second},
		{report + "=0 *  WORKER_REPORT_INTERVAL", 0},
		{report + "=2 * WORKER_REPORT_INTERVAL\n", 6 * time.Second},
		{report + "=inf", math.MaxInt64},
		{report + "=1e300", math.MaxInt64},
	} {
		o := mustParse(t, fakeFS(nil), nil, []string{tc.env})
		got := o.WorkerWaitBeforeReady
		if strings.HasPrefix(tc.env, report) {
			got = o.WaitForWorkersReport
		}
		if got != tc.want {
			t.Errorf("%s: %v, want %v", tc.env, got, tc.want)
		}
	}
	for _, tc := range []struct{ env, msg string }{
		{wait + "=", wait + ": invalid int value: ''"},
		{wait + "=1.5", wait + ": invalid int value: '1.5'"},
		{wait + "=soon", wait + ": invalid int value: 'soon'"},
		{wait + "=99999999999", wait + ": value out of range: '99999999999'"},
		{report + "=", report + ": invalid float value: ''"},
		{report + "=-1", report + ": must be >= 0, got '-1'"},
		{report + "=nan", report + ": must be >= 0, got 'nan'"},
		{report + "=1s", report + ": invalid float value: '1s'"},
		// Locust's pattern wants the '*' and a plain positive coefficient.
		{report + "=1.5 WORKER_REPORT_INTERVAL", report + ": invalid float value"},
		{report + "=-1 * WORKER_REPORT_INTERVAL", report + ": invalid float value"},
		{report + "=.5 * WORKER_REPORT_INTERVAL", report + ": invalid float value"},
		{report + "= 1 * WORKER_REPORT_INTERVAL", report + ": invalid float value"},
	} {
		_, err := fakeFS(nil).Parse(nil, []string{tc.env})
		var e *Error
		if !errors.As(err, &e) || !strings.HasPrefix(e.Msg, tc.msg) || e.Code != 1 {
			t.Errorf("%s: %v, want an *Error %q with code 1", tc.env, err, tc.msg)
		}
	}
	// Locust's constants, which config cannot import.
	if workerReportInterval != worker.DefaultReportInterval || DefaultWaitForWorkersReport != master.DefaultWaitForReports {
		t.Errorf("WORKER_REPORT_INTERVAL %v (worker %v), report wait %v (master %v)",
			workerReportInterval, worker.DefaultReportInterval, DefaultWaitForWorkersReport, master.DefaultWaitForReports)
	}
}

// TestEveryEnvVar sets each option's variable alone and checks that it lands.
func TestEveryEnvVar(t *testing.T) {
	t.Parallel()
	samples := map[string]string{
		"locustfile": "a.py", "host": "http://x", "users": "5", "spawn-rate": "2.5", "run-time": "1m",
		"config-users": `{"user_class_name": "A"}`, "web-host": "0.0.0.0", "web-host-display-name": "x",
		"web-port": "9000", "autoquit": "5", "tls-cert": "c", "tls-key": "k", "web-login-file": "users.htpasswd",
		"build-path": "b", "master-bind-host": "1.2.3.4", "master-bind-port": "6000",
		"expect-workers": "3", "expect-workers-max-wait": "10", "processes": "4", "master-host": "m",
		"master-port": "6001", "web-base-path": "/x", "tags": "[a, b]", "exclude-tags": "c",
		"csv": "out", "html": "r.html", "loglevel": "debug", "logfile": "l.log",
		"exit-code-on-error": "3", "stop-timeout": "10s", "locust-version": "-1", "max-frame-size": "1MiB", "master-batch-interval": "20ms",
		"max-request-names": "100", "check-rps": "10", "check-fail-ratio": "0.01", "check-avg-response-time": "200", "summary-json": "v.json", "var": "page_size=7 env=prod",
		"seed": "42",
	}
	needs := map[string][]string{
		"autoquit":         {"LOCUST_AUTOSTART=true"},
		"csv-full-history": {"LOCUST_CSV=x"},
	}
	for _, op := range options {
		if op.env == "" || op.reject != "" {
			continue
		}
		val := "true"
		if op.arity != arityFlag {
			var ok bool
			if val, ok = samples[op.key()]; !ok {
				t.Errorf("no sample value for %s", op.env)
				continue
			}
		}
		env := append([]string{op.env + "=" + val}, needs[op.key()]...)
		o := mustParse(t, fakeFS(nil), nil, env)
		if o.Source(op.key()) != SourceEnv {
			t.Errorf("%s=%s: source %v", op.env, val, o.Source(op.key()))
		}
		d := defaults()
		d.sources, d.Warnings = o.sources, o.Warnings
		if reflect.DeepEqual(o, d) {
			t.Errorf("%s=%s changed nothing", op.env, val)
		}
	}
}

func TestCommandLineSyntax(t *testing.T) {
	t.Parallel()
	tests := []struct {
		args  []string
		check func(o *Options) bool
	}{
		{[]string{"-u10", "-r=2", "-t1h2m"}, func(o *Options) bool { return o.Users == 10 && o.SpawnRate == 2 && o.RunTime == 62*time.Minute }},
		{[]string{"--users=10", "--spawn", "3", "--run-time", "20"}, func(o *Options) bool { return o.Users == 10 && o.SpawnRate == 3 && o.RunTime == 20*time.Second }},
		{[]string{"-u", "-5"}, func(o *Options) bool { return o.Users == -5 }},
		{[]string{"-u", " 1_000 "}, func(o *Options) bool { return o.Users == 1000 }},
		{[]string{"A", "B", "--headless"}, func(o *Options) bool { return reflect.DeepEqual(o.UserClasses, []string{"A", "B"}) && o.Headless }},
		{[]string{"--headless", "A", "B"}, func(o *Options) bool { return reflect.DeepEqual(o.UserClasses, []string{"A", "B"}) }},
		{[]string{"-T", "a", "b", "-E", "c"}, func(o *Options) bool {
			return reflect.DeepEqual(o.Tags, []string{"a", "b"}) && reflect.DeepEqual(o.ExcludeTags, []string{"c"})
		}},
		{[]string{"-T", "a", "B"}, func(o *Options) bool { return reflect.DeepEqual(o.Tags, []string{"a", "B"}) && o.UserClasses == nil }},
		{[]string{"-T", "a", "--", "B"}, func(o *Options) bool {
			return reflect.DeepEqual(o.Tags, []string{"a"}) && reflect.DeepEqual(o.UserClasses, []string{"B"})
		}},
		{[]string{"-T"}, func(o *Options) bool { return o.Tags != nil && len(o.Tags) == 0 }},
		{[]string{"--", "-u"}, func(o *Options) bool { return reflect.DeepEqual(o.UserClasses, []string{"-u"}) && o.Users == 0 }},
		{[]string{"--worker", "-f", "-"}, func(o *Options) bool { return o.Locustfile == "-" && o.Mode() == ModeWorker }},
		{[]string{"--processes", "-1"}, func(o *Options) bool { return o.Processes == -1 && o.Mode() == ModeMaster }},
		{[]string{"--processes", "4", "--worker"}, func(o *Options) bool { return o.Mode() == ModeWorker }},
		{[]string{"-lu3"}, func(o *Options) bool { return o.List && o.Users == 3 }},
		{[]string{"-L", "debug", "-P", "9000", "-s", "1m30s"}, func(o *Options) bool {
			return o.LogLevel == "DEBUG" && o.WebPort == 9000 && o.StopTimeout == 90*time.Second
		}},
		{[]string{"--host", "-a b"}, func(o *Options) bool { return o.Host == "-a b" }},
		{[]string{"--host="}, func(o *Options) bool { return o.Host == "" && o.IsSet("host") }},
		{[]string{"--locust-version", "-1"}, func(o *Options) bool { return o.SkipVersionCheck() }},
		{[]string{"--max-frame-size", "0"}, func(o *Options) bool { return o.MaxFrameSize == 0 }},
		{[]string{"--max-request-names", "1"}, func(o *Options) bool { return o.MaxRequestNames == 1 }},
		{[]string{"--seed", "0"}, func(o *Options) bool { return o.Seed == 0 && o.IsSet("seed") }},
		{[]string{"--seed", "9223372036854775807"}, func(o *Options) bool { return o.Seed == 1<<63-1 }},
		{[]string{"--var", "a=1", "b=", "--var", "c=x y"}, func(o *Options) bool {
			return reflect.DeepEqual(o.Vars, map[string]string{"a": "1", "b": "", "c": "x y"})
		}},
		{[]string{"--rebalance-at-spawn-rate", "--enable-rebalancing"}, func(o *Options) bool { return o.RebalanceAtSpawnRate && o.EnableRebalancing }},
		{[]string{"--autostart", "--autoquit", "10"}, func(o *Options) bool { return o.Autoquit == 10*time.Second }},
		{[]string{"--tls-cert", "c", "--tls-key", "k", "--web-login"}, func(o *Options) bool {
			return len(o.Warnings) == 0 && o.TLSCert == "c" && o.TLSKey == "k" && o.WebLogin && o.WebLoginFile == ""
		}},
		{[]string{"--web-login-file", "u", "--web-login-metrics"}, func(o *Options) bool { return o.WebLogin && o.WebLoginFile == "u" && o.WebLoginMetrics }},
		{[]string{"--config-users", `{"user_class_name":"A","weight":2}`, `[{"user_class_name":"B"}]`}, func(o *Options) bool { return len(o.ConfigUsers) == 2 }},
		{[]string{"-h", "--bogus"}, func(o *Options) bool { return o.Help }},
		{[]string{"-u", "3", "--help"}, func(o *Options) bool { return o.Help }},
		{[]string{"-V"}, func(o *Options) bool { return o.ShowVersion }},
		{[]string{"--check-rps", "10", "--check-fail-ratio", " 0.05 ", "--check-avg-response-time=1_000"}, func(o *Options) bool {
			return *o.CheckRPS == 10 && *o.CheckFailRatio == 0.05 && *o.CheckAvgResponseTime == 1000
		}},
		{[]string{"--check-rps", "-1"}, func(o *Options) bool { return *o.CheckRPS == -1 && o.CheckFailRatio == nil }},
		{[]string{"--summary-json", "out/v.json"}, func(o *Options) bool { return o.SummaryJSON == "out/v.json" }},
		{[]string{"--results-in-log"}, func(o *Options) bool { return o.ResultsInLog }},
		{[]string{"-lV"}, func(o *Options) bool { return o.ShowVersion }},
	}
	for _, tc := range tests {
		o := mustParse(t, fakeFS(nil), tc.args, nil)
		if !tc.check(o) {
			t.Errorf("%q: wrong result %+v", tc.args, o)
		}
	}
}

func TestErrors(t *testing.T) {
	t.Parallel()
	const webAuthHint = "glocust: use --web-login with --web-login-file, an htpasswd file of bcrypt hashes"
	tests := []struct {
		args []string
		env  []string
		conf string
		msg  string // the Error.Msg prefix
		hint string
		code int
	}{
		{args: []string{"--foo"}, msg: "unrecognized arguments: --foo", code: 2},
		{args: []string{"--hots", "x"}, msg: "unrecognized arguments: --hots", hint: "did you mean '--host'?", code: 2},
		{args: []string{"--spawn_rate=3"}, msg: "unrecognized arguments: --spawn_rate=3", hint: "did you mean '--spawn-rate'?", code: 2},
		{args: []string{"--hatch-rate", "3"}, msg: "unrecognized arguments: --hatch-rate", hint: "did you mean '--spawn-rate'?", code: 2},
		{args: []string{"--master-node-host", "m"}, msg: "unrecognized arguments: --master-node-host", hint: "did you mean '--master-bind-host'?", code: 2},
		{args: []string{"A", "-u", "1", "B"}, msg: "unrecognized arguments: B", code: 2},
		{args: []string{"--exp", "3"}, msg: "ambiguous option: --exp could match --expect-workers, --expect-workers-max-wait, --expect-slaves", code: 2},
		{args: []string{"--users", "x"}, msg: "argument -u/--users: invalid int value: 'x'", code: 2},
		{args: []string{"-u"}, msg: "argument -u/--users: expected one argument", code: 2},
		{args: []string{"--host", "-x"}, msg: "argument -H/--host: expected one argument", code: 2},
		{args: []string{"-r", "0"}, msg: "argument -r/--spawn-rate: must be > 0", code: 2},
		{args: []string{"-r", "inf"}, msg: "argument -r/--spawn-rate: must be a finite number", code: 2},
		{args: []string{"-r", "nan"}, msg: "argument -r/--spawn-rate: must be a finite number", code: 2},
		{args: []string{"-r", "x"}, msg: "argument -r/--spawn-rate: invalid float value: 'x'", code: 2},
		{args: []string{"-t", "1.5h"}, msg: "argument -t/--run-time: Invalid time span format. Valid formats: 20, 20s, 3m, 2h, 1h20m, 3h30m10s, etc.", code: 2},
		{args: []string{"--run-time="}, msg: "argument -t/--run-time: Invalid time span format", code: 2},
		{args: []string{"-t", "9999999999999h"}, msg: "argument -t/--run-time: Time span out of range", code: 2},
		{args: []string{"-s", "soon"}, msg: "argument -s/--stop-timeout: Invalid time span format", code: 2},
		{args: []string{"-L", "trace"}, msg: "argument --loglevel/-L: invalid choice: 'TRACE'", code: 2},
		{args: []string{"--expect-workers", "0"}, msg: "argument --expect-workers: Invalid --expect-workers argument (0), must be a positive number", code: 2},
		{args: []string{"--headless=true"}, msg: "argument --headless: ignored explicit argument 'true'", code: 2},
		{args: []string{"-lx"}, msg: "argument -l/--list: ignored explicit argument 'x'", code: 2},
		{args: []string{"--slave"}, msg: "argument --slave: The --slave parameter has been renamed --worker", code: 2},
		{args: []string{"--expect-slaves"}, msg: "argument --expect-slaves: The --expect-slaves parameter has been renamed --expect-workers", code: 2},
		{args: []string{"--web-auth", "a:b"}, msg: "argument --web-auth: The --web-auth parameters has been replaced with --web-login.",
			hint: webAuthHint, code: 2},
		{env: []string{"LOCUST_WEB_AUTH=a:b"}, msg: "argument --web-auth: The --web-auth parameters has been replaced", hint: webAuthHint, code: 2},
		{conf: "web-auth = a:b\n", msg: "argument --web-auth: The --web-auth parameters has been replaced", hint: webAuthHint, code: 2},
		{args: []string{"--legacy-ui"}, msg: "argument --legacy-ui: --legacy-ui is no longer supported", code: 2},
		{args: []string{"--max-frame-size", "big"}, msg: "argument --max-frame-size: invalid size", code: 2},
		{args: []string{"--max-request-names", "0"}, msg: "argument --max-request-names: must be a positive number, not 0", code: 2},
		{args: []string{"--max-request-names", "many"}, msg: "argument --max-request-names: invalid int value: 'many'", code: 2},
		{args: []string{"--seed", "-1"}, msg: `argument --seed: must be a non-negative integer, not "-1"`, code: 2},
		{args: []string{"--seed", "9223372036854775808"}, msg: `argument --seed: must be a non-negative integer, not "9223372036854775808"`, code: 2},
		{args: []string{"--var", "a"}, msg: `argument --var: "a" is not <name>=<value> with a variable name`, code: 2},
		{args: []string{"--var", "1a=2"}, msg: `argument --var: "1a=2" is not <name>=<value>`, code: 2},
		{args: []string{"--locust-version="}, msg: "argument --locust-version: must not be empty", code: 2},
		{args: []string{"--check-rps", "many"}, msg: "argument --check-rps: invalid float value: 'many'", code: 2},
		{args: []string{"--check-fail-ratio", "1%"}, msg: "argument --check-fail-ratio: invalid float value: '1%'", code: 2},
		{env: []string{"LOCUST_CHECK_AVG_RESPONSE_TIME=fast"}, msg: "argument --check-avg-response-time: invalid float value: 'fast'", code: 2},
		{conf: "check-rps = x\n", msg: "argument --check-rps: invalid float value: 'x'", code: 2},
		{args: []string{"--config-users", "{"}, msg: "argument --config-users: The --config-users argument must be a valid JSON", code: 2},
		{args: []string{"--config-users", `{"weight":1}`}, msg: "argument --config-users: The user config must specify a user_class_name", code: 2},
		{args: []string{"--config", "missing.conf"}, msg: "Unable to open config file: missing.conf", code: 2},
		{env: []string{"LOCUST_HEADLESS=maybe"}, msg: "Unexpected value for LOCUST_HEADLESS: 'maybe'", code: 2},
		{env: []string{"LOCUST_HEADLESS="}, msg: "Unexpected value for LOCUST_HEADLESS: ''", code: 2},
		{env: []string{"LOCUST_USERS="}, msg: "argument -u/--users: invalid int value: ''", code: 2},
		{env: []string{"LOCUST_WEB_PORT=http"}, msg: "argument --web-port/-P: invalid int value: 'http'", code: 2},
		{conf: "foo = 1\n", msg: "unrecognized arguments: --foo=1", code: 2},
		{conf: "users = [1, 2]\n", msg: "users can't be set to a list", code: 2},
		{conf: "headless = sometimes\n", msg: "Unexpected value for headless: 'sometimes'", code: 2},
		{conf: ":bad\n", msg: "Unexpected line 0 in locust.conf: :bad", code: 2},
		{args: []string{"--csv-full-history"}, msg: "'--csv-full-history' requires '--csv'.", code: 2},
		{args: []string{"--autoquit", "5"}, msg: "--autoquit is only meaningful in combination with --autostart", code: 1},
		{args: []string{"--processes", "-2"}, msg: "Invalid --processes count -2", code: 1},
		{args: []string{"--processes", "2", "--master"}, msg: "--master cannot be combined with --processes", code: 1},
		{args: []string{"--master", "--worker"}, msg: "The --master argument cannot be combined with --worker", code: 255},
		{args: []string{"--web-base-path", "locust"}, msg: "Invalid format for --web-base-path argument (locust)", code: 1},
		{args: []string{"-f", "-"}, msg: "locustfile was set to '-'", code: 1},
	}
	for _, tc := range tests {
		files := map[string]string{}
		if tc.conf != "" {
			files["locust.conf"] = tc.conf
		}
		_, err := fakeFS(files).Parse(tc.args, tc.env)
		var e *Error
		if !errors.As(err, &e) {
			t.Errorf("%q %q %q: err = %v, want *Error", tc.args, tc.env, tc.conf, err)
			continue
		}
		if !strings.HasPrefix(e.Msg, tc.msg) || e.Hint != tc.hint || e.Code != tc.code || ExitCode(err) != tc.code {
			t.Errorf("%q %q %q:\n got %q hint %q code %d\nwant %q hint %q code %d", tc.args, tc.env, tc.conf, e.Msg, e.Hint, e.Code, tc.msg, tc.hint, tc.code)
		}
		if !strings.HasPrefix(err.Error(), "config: ") {
			t.Errorf("Error() = %q lacks the package prefix", err.Error())
		}
	}
	if ExitCode(nil) != 0 || ExitCode(errors.New("x")) != 1 {
		t.Error("ExitCode of nil / plain error")
	}
}

func TestConfigFiles(t *testing.T) {
	t.Parallel()
	conf := `# comment
; comment
[locust]
---
locustfile = scenario.yaml
headless
users: 4
--spawn-rate 3
host = "http://a # b"
tags = [a, b]
exclude-tags = ["c", "d"]
run-time = 10m   # trailing comment
csv =
web-base-path = '/x' ; comment
users = 5
`
	p := fakeFS(map[string]string{"locust.conf": conf, "pyproject.toml": "[tool.locust]\nusers = 1\n"})
	o := mustParse(t, p, nil, nil)
	switch {
	case o.Locustfile != "scenario.yaml", !o.Headless, o.Users != 5, o.SpawnRate != 3,
		o.Host != "http://a # b", !reflect.DeepEqual(o.Tags, []string{"a", "b"}),
		!reflect.DeepEqual(o.ExcludeTags, []string{"c", "d"}), o.RunTime != 10*time.Minute,
		o.CSVPrefix != "" || !o.IsSet("csv"), o.WebBasePath != "/x":
		t.Errorf("parsed %+v", o)
	}
	if !reflect.DeepEqual(o.ConfigFiles, []string{"locust.conf"}) {
		t.Errorf("ConfigFiles = %q", o.ConfigFiles)
	}
	if len(o.Warnings) != 1 || !strings.Contains(o.Warnings[0], "pyproject.toml") {
		t.Errorf("Warnings = %q", o.Warnings)
	}
	// NoDefaultConfigFiles reads only --config.
	p.NoDefaultConfigFiles = true
	if o := mustParse(t, p, nil, nil); o.Users != 0 || len(o.ConfigFiles) != 0 {
		t.Errorf("default files read with NoDefaultConfigFiles: %+v", o)
	}
}

func TestConfigLine(t *testing.T) {
	t.Parallel()
	tests := map[string][2]string{ // line -> key, value
		"a = b":          {"a", "b"},
		"a=b":            {"a", "b"},
		"a: b":           {"a", "b"},
		"a b c":          {"a", "b c"},
		"--a b":          {"--a", "b"},
		"flag":           {"flag", "true"},
		"a =":            {"a", ""},
		`a = ""`:         {"a", ""},
		`a = "x" # c`:    {"a", "x"},
		`a = 'x`:         {"a", "'x"},
		"a = x#y":        {"a", "x#y"},
		"a = x ;y":       {"a", "x"},
		"a # c":          {"a", "# c"},
		"a = http://h:1": {"a", "http://h:1"},
	}
	for line, want := range tests {
		it, ok := parseConfigLine(line)
		if !ok || it.key != want[0] || it.value != want[1] {
			t.Errorf("parseConfigLine(%q) = %q %q %v, want %q %q", line, it.key, it.value, ok, want[0], want[1])
		}
	}
	if _, ok := parseConfigLine("a#b"); ok {
		t.Error(`"a#b" accepted`)
	}
}

func TestUnknownEnv(t *testing.T) {
	t.Parallel()
	env := []string{
		"PATH=/bin", "LOCUST_USERS=1", "LOCUST_USER=1", "LOCUST_MODE=MASTER", "LOCUST_CONFIG=x",
		"LOCUST_USER_CLASSES=A", "LOCUST_WORKER_ADDITIONAL_WAIT_BEFORE_READY_AFTER_STOP=1",
		"GLOCUST_MAX_FRAME_SIZE=1", "GLOCUST_MAX_FRAME=1", "GLOCUST_LOCUST=/x", "MY_LOCUST_X=1",
	}
	got := UnknownEnv(env)
	want := []string{"GLOCUST_MAX_FRAME", "LOCUST_CONFIG", "LOCUST_MODE", "LOCUST_USER"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("UnknownEnv = %q, want %q", got, want)
	}
	if s := SuggestEnv("LOCUST_USER"); s != "LOCUST_USERS" {
		t.Errorf("SuggestEnv(LOCUST_USER) = %q", s)
	}
	if s := SuggestEnv("LOCUST_MASTER_HOST"); s != "LOCUST_MASTER_BIND_HOST" && s != "LOCUST_MASTER_NODE_HOST" {
		t.Errorf("SuggestEnv(LOCUST_MASTER_HOST) = %q", s)
	}
	// Parse ignores unknown variables, as Locust does.
	if _, err := fakeFS(nil).Parse(nil, env); err != nil {
		t.Error(err)
	}
}

func TestUsage(t *testing.T) {
	t.Parallel()
	var b strings.Builder
	Usage(&b)
	out := b.String()
	if !strings.HasPrefix(out, "Usage: glocust [options] [UserClass ...]\n") {
		t.Errorf("usage line: %q", out[:60])
	}
	for _, op := range options {
		if op.hidden || op.reject != "" {
			continue
		}
		for _, n := range op.names {
			if !strings.Contains(out, n) {
				t.Errorf("help lacks %s", n)
			}
		}
		if op.env != "" && !strings.Contains(out, op.env) {
			t.Errorf("help lacks %s", op.env)
		}
	}
	for _, s := range []string{"Accepted, no effect", "LOCUST_USER_CLASSES", "glocust options", "Master options"} {
		if !strings.Contains(out, s) {
			t.Errorf("help lacks %q", s)
		}
	}
	for _, l := range strings.Split(out, "\n") {
		if len(l) > helpWidth && !strings.Contains(l, "glocust --master") {
			t.Errorf("line over %d columns: %q", helpWidth, l)
		}
	}
	var v strings.Builder
	WriteVersion(&v)
	if !strings.Contains(v.String(), "glocust "+Version) {
		t.Errorf("version text %q", v.String())
	}
}

func TestSimilarity(t *testing.T) {
	t.Parallel()
	if got := closestMatch("--hots", allNames); got != "--host" {
		t.Errorf("closestMatch(--hots) = %q", got)
	}
	if got := closestMatch("--zzzzzz", allNames); got != "" {
		t.Errorf("closestMatch(--zzzzzz) = %q", got)
	}
	// difflib: SequenceMatcher(None, "abcd", "bcde").ratio() == 0.75
	if r := similarity("abcd", "bcde"); r != 0.75 {
		t.Errorf("similarity = %v", r)
	}
}

// TestVarsSources checks --var from a config file, the environment and
// the command line: the highest source wins as a whole.
func TestVarsSources(t *testing.T) {
	t.Parallel()
	p := fakeFS(map[string]string{"locust.conf": "var = [a=1, b=2]\n"})
	if o := mustParse(t, p, nil, nil); !reflect.DeepEqual(o.Vars, map[string]string{"a": "1", "b": "2"}) {
		t.Errorf("from locust.conf: %v", o.Vars)
	}
	if o := mustParse(t, p, nil, []string{"GLOCUST_VAR=c=3"}); !reflect.DeepEqual(o.Vars, map[string]string{"c": "3"}) {
		t.Errorf("from the environment: %v", o.Vars)
	}
	if o := mustParse(t, p, []string{"--var", "d=4"}, []string{"GLOCUST_VAR=c=3"}); !reflect.DeepEqual(o.Vars, map[string]string{"d": "4"}) {
		t.Errorf("from the command line: %v", o.Vars)
	}
}
