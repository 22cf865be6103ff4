package app

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/glocust/glocust/internal/config"
	"github.com/glocust/glocust/internal/logging"
	"github.com/glocust/glocust/internal/otelexport"
	"github.com/glocust/glocust/master"
	"github.com/glocust/glocust/master/report"
	"github.com/glocust/glocust/protocol"
	"github.com/glocust/glocust/protocol/zmq"
	"github.com/glocust/glocust/scenario"
	"github.com/glocust/glocust/shape"
	"github.com/glocust/glocust/stats"
	"github.com/glocust/glocust/threshold"
	"github.com/glocust/glocust/worker"
)

// Console and CSV intervals, as in Locust (CONSOLE_STATS_INTERVAL_SEC,
// CSV_STATS_INTERVAL_SEC).
const (
	consoleStatsInterval = 2 * time.Second
	csvStatsInterval     = time.Second
)

// runMaster runs the master (--master, or --processes) and standalone
// modes: both are a master; standalone adds one in-process worker over an
// in-memory ROUTER, --processes starts glocust --worker children. opts was
// validated by config.Parse (--master with --processes, --autoquit without
// --autostart, --processes below -1 are rejected there). The console
// tables go to tables, the --json report to stdout.
func runMaster(ctx context.Context, opts *config.Options, env []string, log *slog.Logger, logs *logging.Ring, stdout, tables io.Writer) int {
	standalone := opts.Mode() == config.ModeStandalone
	l, err := loadClasses(opts, env, !standalone)
	if err != nil {
		log.Error(err.Error())
		return 1
	}
	classes, host := l.classes, l.host
	sh, err := masterShape(l, shape.Registered())
	if err != nil {
		log.Error(err.Error())
		return 1
	}
	if opts.Processes != 0 {
		// As Locust's main(): this process is the master of its N children
		// and expects all of them (-1 is resolved here too, so the
		// parsed_options sent to workers say what was run).
		n := processCount(opts.Processes)
		opts.Processes, opts.ExpectWorkers, opts.Master = n, n, true
	}
	exp, err := newOTel(opts, env, log, tables)
	if err != nil {
		log.Error(err.Error())
		return 1
	}
	start := "Starting glocust " + config.Version + " (Locust " + master.LocustVersion + " compatible)"
	if exp != nil {
		start += ", OpenTelemetry enabled (" + strings.Join(exp.Exporters(), ", ") + ")"
	}
	log.Info(start)
	sec, err := newWebSecurity(opts, log)
	if err != nil {
		log.Error(err.Error())
		return 1
	}

	var tr zmq.Transport
	var inproc *zmq.InprocRouter
	var router *zmq.Router
	if standalone {
		inproc = zmq.NewInprocRouter()
		tr = inproc
	} else {
		ep := "tcp://" + net.JoinHostPort(opts.MasterBindHost, strconv.Itoa(opts.MasterBindPort))
		zopts := []zmq.ZMQOption{zmq.WithBatchInterval(opts.MasterBatchInterval)}
		if opts.MaxFrameSize > 0 {
			zopts = append(zopts, zmq.WithMaxFrameSize(int(opts.MaxFrameSize)))
		}
		router, err = zmq.ListenRouter(ep, zopts...)
		if err != nil {
			log.Error(fmt.Sprintf("The Locust master port (%s) was busy. Close any applications using that port - perhaps an old instance of Locust master is still running? (%v)", ep, err))
			return 1
		}
		tr = router
	}
	defer tr.Close()

	if sh != nil {
		warnShapeOptions(opts, sh, log)
	}
	cfg := masterConfig(opts, classes, host, log)
	cfg.Shape = sh
	cfg.Params = masterParams(l.vars, classes, opts.Vars)
	cfg.Thresholds = append(slices.Clone(l.thresholds), checkThresholds(opts)...)
	m := master.New(tr, cfg)
	runErr := make(chan error, 1)
	go func() { runErr <- m.Run(context.Background()) }()
	stopOTel := runOTel(exp, otelexport.MasterSource(m.Snapshot))
	defer stopOTel()

	var raw *uncorrected // the in-process worker's uncorrected latencies
	if standalone {
		raw = newUncorrected(opts, log)
	}
	var wg sync.WaitGroup
	workerCtx, stopWorkers := context.WithCancel(context.Background())
	defer func() { stopWorkers(); wg.Wait() }()
	var kids *children
	switch {
	case standalone:
		// One in-process worker: its runner already runs every user on its
		// own goroutine over all cores, as Locust's LocalRunner is one runner.
		wg.Add(1)
		go func() { defer wg.Done(); runInprocWorker(workerCtx, inproc, classes, host, opts, env, raw, log) }()
	case opts.Processes != 0:
		_, port, _ := net.SplitHostPort(router.Addr())
		kids, err = startChildren(opts.Processes, masterChildArgs(opts, port), masterChildEnv(env), false, log)
		if err != nil {
			log.Error(err.Error())
			m.Quit()
			return 1
		}
		// Runs after m.Quit on every path below: the children got quit.
		defer kids.stop()
	}

	out := newOutputs(opts, log, stdout, tables)
	out.thresholds = cfg.Thresholds
	out.raw = raw
	if err := out.open(); err != nil {
		log.Error(err.Error())
		m.Quit()
		return 1
	}
	stopPeriodic := out.startPeriodic(m)

	web, stopWeb := startWeb(m, opts, sec, log, logs, router != nil, raw, uiInterval(env, log))
	defer stopWeb()

	ctl := &control{m: m, opts: opts, log: log, web: web, shape: sh != nil}
	if kids != nil {
		ctl.childExited = kids.exited()
	}
	code := ctl.run(ctx, standalone)
	stopPeriodic()
	m.Quit()
	if err := <-runErr; err != nil && !errors.Is(err, context.Canceled) {
		log.Error("master stopped", "err", err)
		code = 2
	}
	stopOTel() // the master's loop ended: its stats are final
	stopWorkers()
	wg.Wait()
	if kids != nil {
		if c := kids.stop(); c > 1 {
			log.Error(fmt.Sprintf("Bad response code from worker children: %d", c))
		}
	}
	return out.finish(m, code)
}

// checkThresholds are locust-plugins' --check-* flags as thresholds, in
// the order locust-plugins checks them.
func checkThresholds(o *config.Options) []threshold.Threshold {
	var out []threshold.Threshold
	if o.CheckFailRatio != nil {
		out = append(out, threshold.CheckFailRatio(*o.CheckFailRatio))
	}
	if o.CheckRPS != nil {
		out = append(out, threshold.CheckRPS(*o.CheckRPS))
	}
	if o.CheckAvgResponseTime != nil {
		out = append(out, threshold.CheckAvgResponseTime(*o.CheckAvgResponseTime))
	}
	return out
}

// masterShape is the run's load shape: the scenario's, else the Go shape
// registered with shape.Register (reg) if there is only one (Locust runs
// the shape class its locustfile defines).
func masterShape(l *loaded, reg []*shape.Shape) (*shape.Shape, error) {
	if l.shapeErr != nil {
		return nil, l.shapeErr
	}
	if l.shape != nil {
		return l.shape, nil
	}
	switch len(reg) {
	case 0:
		return nil, nil
	case 1:
		return reg[0], nil
	}
	names := make([]string, len(reg))
	for i, s := range reg {
		names[i] = s.Name
	}
	return nil, fmt.Errorf("several Go shapes are registered (%s): name one in the scenario with shape: {go: Name}", strings.Join(names, ", "))
}

// warnShapeOptions warns, as Locust's main does, that -u, -r and -t do not
// apply to a shape that does not use the common options.
func warnShapeOptions(opts *config.Options, sh *shape.Shape, log *slog.Logger) {
	if sh.UseCommonOptions {
		return
	}
	var ignored []string
	if opts.IsSet("users") && opts.Users != 0 {
		ignored = append(ignored, "--users")
	}
	if opts.IsSet("spawn-rate") && opts.SpawnRate != 0 {
		ignored = append(ignored, "--spawn-rate")
	}
	if opts.RunTime > 0 {
		ignored = append(ignored, "--run-time")
	}
	if len(ignored) == 0 {
		return
	}
	log.Warn("--run-time, --users or --spawn-rate have no impact on LoadShapes unless the shape class explicitly reads them. " +
		"See: README.md, Load shapes (use_common_options)")
	log.Warn("The following option(s) will be ignored: " + strings.Join(ignored, ", "))
}

// commonOptions are -u, -r and -t for a shape, with the defaults Locust's
// headless and autostart runs give -u and -r (1 and 1).
func commonOptions(o *config.Options) shape.Common {
	c := shape.Common{Users: 1, SpawnRate: 1, RunTime: o.RunTime}
	if o.IsSet("users") {
		c.Users, c.UsersSet = o.Users, true
	}
	if o.IsSet("spawn-rate") {
		c.SpawnRate, c.SpawnRateSet = o.SpawnRate, true
	}
	return c
}

func masterConfig(opts *config.Options, classes []*scenario.Class, host string, log *slog.Logger) master.Config {
	cfg := master.Config{
		Host: host, StopTimeout: opts.StopTimeout, ParsedOptions: parsedOptions(opts),
		Headless: opts.Headless, EnableRebalancing: opts.EnableRebalancing,
		RebalanceAtSpawnRate: opts.RebalanceAtSpawnRate, ResetStats: opts.ResetStats,
		Logger: log, Tasks: map[string][]master.TaskInfo{},
		WaitForReports:  opts.WaitForWorkersReport,
		MaxRequestNames: opts.MaxRequestNames,
		Profile:         opts.Profile,
	}
	if cfg.WaitForReports == 0 {
		// No wait (Locust's 0); master.Config's zero is its default.
		cfg.WaitForReports = time.Nanosecond
	}
	if opts.LocustVersion != "" && !opts.SkipVersionCheck() {
		cfg.LocustVersion = opts.LocustVersion
	}
	for _, c := range classes {
		w := c.Weight
		if opts.EqualWeights {
			w = 1
		}
		cfg.Classes = append(cfg.Classes, master.UserClass{Name: c.Name, Weight: w, FixedCount: c.FixedCount})
		for i, t := range c.Tasks {
			name := t.Name
			if name == "" {
				name = "task_" + strconv.Itoa(i)
			}
			cfg.Tasks[c.Name] = append(cfg.Tasks[c.Name], master.TaskInfo{Name: name, Weight: t.Weight})
		}
	}
	return cfg
}

// parsedOptions mirrors vars(options) of Locust 2.47's parser: every dest
// in Locust's order with glocust's values. Python workers adopt only the
// keys that are not built-in options, plus expect_workers and the tags.
func parsedOptions(o *config.Options) *protocol.Map {
	str := func(s string) protocol.Value {
		if s == "" {
			return nil
		}
		return s
	}
	list := func(l []string) protocol.Value {
		if l == nil {
			return nil
		}
		out := make([]protocol.Value, len(l))
		for i, s := range l {
			out[i] = s
		}
		return out
	}
	var users, rate, runTime, processes protocol.Value
	if o.IsSet("users") {
		users = int64(o.Users)
	}
	if o.IsSet("spawn-rate") {
		rate = o.SpawnRate
	}
	if o.RunTime > 0 {
		runTime = int64(o.RunTime / time.Second)
	}
	if o.Processes != 0 {
		processes = int64(o.Processes)
	}
	autoquit := int64(-1)
	if o.Autoquit >= 0 {
		autoquit = int64(o.Autoquit / time.Second)
	}
	classes := list(o.UserClasses)
	if classes == nil {
		classes = []protocol.Value{}
	}
	m := protocol.NewMap(
		"locustfile", str(o.Locustfile), "config", str(o.Config), "host", str(o.Host),
		"num_users", users, "spawn_rate", rate, "run_time", runTime, "list_commands", o.List,
		"config_users", list(o.ConfigUsers), "web_host", o.WebHost, "web_host_display_name", str(o.WebHostDisplayName),
		"web_port", int64(o.WebPort), "headless", o.Headless, "autostart", o.Autostart, "autoquit", autoquit,
		"headful", o.Headful, "web_auth", nil, "web_login", o.WebLogin, "tls_cert", o.TLSCert,
		"tls_key", o.TLSKey, "class_picker", o.ClassPicker, "build_path", o.BuildPath, "legacy_ui", false,
		"master", o.Master, "master_bind_host", o.MasterBindHost, "master_bind_port", int64(o.MasterBindPort),
		"expect_workers", int64(o.ExpectWorkers), "expect_workers_max_wait", int64(o.ExpectWorkersMaxWait/time.Second),
		"enable_rebalancing", o.EnableRebalancing, "expect_slaves", nil, "worker", o.Worker, "processes", processes,
		"slave", nil, "master_host", o.MasterHost, "master_port", int64(o.MasterPort), "web_base_path", o.WebBasePath,
		"tags", list(o.Tags), "exclude_tags", list(o.ExcludeTags), "csv_prefix", str(o.CSVPrefix),
		"stats_history_enabled", o.CSVFullHistory, "print_stats", o.PrintStats, "only_summary", o.OnlySummary,
		"reset_stats", o.ResetStats, "html_file", str(o.HTMLFile), "json", o.JSON, "json_file", str(o.JSONFile),
		"skip_log_setup", o.SkipLogSetup, "loglevel", o.LogLevel, "logfile", str(o.LogFile),
		"show_task_ratio", o.ShowTaskRatio, "show_task_ratio_json", o.ShowTaskRatioJSON,
		"exit_code_on_error", int64(o.ExitCodeOnError), "stop_timeout", o.StopTimeout.Seconds(),
		"equal_weights", o.EqualWeights, "profile", str(o.Profile), "otel", o.OTel, "user_classes", classes,
	)
	// --var values follow, as custom arguments follow Locust's own.
	for _, k := range slices.Sorted(maps.Keys(o.Vars)) {
		m.Set(k, o.Vars[k])
	}
	return m
}

// runInprocWorker runs the real worker code against the in-memory router.
func runInprocWorker(ctx context.Context, r *zmq.InprocRouter, classes []*scenario.Class, host string, opts *config.Options, env []string, raw *uncorrected, log *slog.Logger) {
	setup := workerSetup{opts: opts, classes: classes, host: host, env: env, raw: raw, log: log}
	runner, w := setup.newWorker("inproc", 0,
		worker.WithLogger(log.With("worker", "local")),
		worker.WithLocustVersion(master.LocustVersion),
		worker.WithConnectRetry(100*time.Millisecond, 600),
		worker.WithMasterTimeouts(0, 0, 0),
		worker.WithDialer(func(ctx context.Context, _, id string) (zmq.Transport, error) { return r.Dial(ctx, id) }),
	)
	defer runner.Close()
	if err := w.Run(ctx); err != nil && ctx.Err() == nil {
		log.Debug("local worker ended", "err", err)
	}
}

// webHost is --web-host as net.Listen takes it: Locust's "*" (all
// interfaces) is "".
func webHost(opts *config.Options) string {
	if opts.WebHost == "*" {
		return ""
	}
	return opts.WebHost
}

// webAddr is the address the HTTP API (a worker's probes) listens on:
// --web-host and --web-port.
func webAddr(opts *config.Options) string {
	return net.JoinHostPort(webHost(opts), strconv.Itoa(opts.WebPort))
}

// startWeb serves the HTTP API, protected by sec. In headless mode Locust
// serves nothing; glocust serves /metrics and /healthz there, and a busy
// port is only a warning.
func startWeb(m *master.Master, opts *config.Options, sec *webSecurity, log *slog.Logger, logs *logging.Ring, distributed bool,
	raw *uncorrected, interval time.Duration) (*master.Web, func()) {
	histCSV := ""
	if opts.CSVPrefix != "" && opts.CSVFullHistory {
		histCSV = opts.CSVPrefix + "_stats_history.csv"
	}
	wcfg := master.WebConfig{BasePath: opts.WebBasePath, Headless: opts.Headless,
		Locustfile: filepath.Base(opts.Locustfile), HistoryCSV: histCSV,
		Metrics:     master.NewMetricsHandler(m, config.Version),
		MasterLogs:  func() []string { l, _ := logs.Lines(); return l },
		ClassPicker: opts.ClassPicker,
		Version:     config.Version, Distributed: distributed, Login: sec.users != nil,
		LatencyCorrection: opts.LatencyCorrection, Profile: opts.Profile, UpdateInterval: interval}
	if opts.IsSet("users") {
		wcfg.NumUsers = &opts.Users
	}
	if opts.SpawnRate > 0 {
		wcfg.SpawnRate = &opts.SpawnRate
	}
	if opts.RunTime > 0 {
		wcfg.RunTime = opts.RunTime.String()
	}
	if raw != nil {
		wcfg.Uncorrected = func(start time.Time, fn func(*stats.Aggregate)) { raw.forRun(start, time.Now(), fn) }
	}
	web := master.NewWeb(m, wcfg)
	ln, err := net.Listen("tcp", webAddr(opts))
	if err != nil {
		if opts.Headless {
			log.Warn("glocust: /metrics and /healthz not served (headless extension): " + err.Error())
		} else {
			log.Error("cannot start web interface: " + err.Error())
		}
		return web, web.Close
	}
	srv := sec.server(web, opts.WebBasePath, log)
	go func() { _ = sec.serve(srv, ln) }()
	shown := sec.scheme() + "://" + net.JoinHostPort(cmp.Or(webHost(opts), "0.0.0.0"), strconv.Itoa(opts.WebPort))
	if opts.Headless {
		log.Info(fmt.Sprintf("Serving /metrics and /healthz at %s%s (glocust extension)", shown, opts.WebBasePath))
	} else {
		log.Info(fmt.Sprintf("Starting web interface at %s%s", shown, opts.WebBasePath))
	}
	if d := sec.describe(); d != "" {
		log.Info(d)
	}
	return web, func() {
		web.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	}
}

// uiIntervalEnv sets the dashboard's update period (default
// master.DefaultUIInterval): the bench (bench/cmd/uicost) makes it short
// to put hours of history through a page in minutes.
const uiIntervalEnv = "GLOCUST_UI_INTERVAL"

// uiInterval is $GLOCUST_UI_INTERVAL, a Go duration of at least 10 ms (0:
// the default; a bad value is logged and ignored).
func uiInterval(env []string, log *slog.Logger) time.Duration {
	v, ok := lookupEnv(env, uiIntervalEnv)
	if !ok || v == "" {
		return 0
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 10*time.Millisecond {
		log.Warn(fmt.Sprintf("%s=%q ignored: want a duration of at least 10ms", uiIntervalEnv, v))
		return 0
	}
	return d
}

// control drives a run like Locust's main(): headless or autostart runs,
// run time, autoquit, signals.
type control struct {
	m    *master.Master
	opts *config.Options
	log  *slog.Logger
	web  *master.Web
	// childExited is closed when a --processes child has exited (nil
	// without --processes).
	childExited <-chan struct{}
	// shape: the master has a load shape, which headless and autostart
	// runs follow instead of -u, -r and -t.
	shape bool
}

func (c *control) run(ctx context.Context, standalone bool) int {
	o := c.opts
	var shapeEnded <-chan struct{} // the end of the shape this run started
	var aborted <-chan struct{}    // a threshold stopped an autostart run
	if o.Autostart && !o.Headless {
		// A headless master quits by itself; a test started from the web
		// API only stops.
		aborted = c.m.ThresholdAborted()
	}
	if o.Headless || o.Autostart {
		expect := o.ExpectWorkers
		if standalone {
			expect = 1
		}
		if err := c.waitForWorkers(ctx, expect); err != nil {
			if ctx.Err() != nil {
				c.log.Info("Got SIGTERM signal")
				return -1
			}
			return 1
		}
		users, rate := 1, 1.0
		if o.IsSet("users") {
			users = o.Users
		}
		if o.IsSet("spawn-rate") {
			rate = o.SpawnRate
		}
		if c.shape {
			// As Locust's start_automatic_run: the shape's end, not -t,
			// ends the run.
			shapeEnded = c.m.ShapeEnded()
			c.m.StartShape(commonOptions(o))
		} else if err := c.m.Start(users, rate); err != nil {
			c.log.Error(err.Error())
			return 1
		}
	}
	var runTime <-chan time.Time
	if o.RunTime > 0 && (o.Headless || o.Autostart) && !c.shape {
		c.log.Info(fmt.Sprintf("Run time limit set to %d seconds", int64(o.RunTime/time.Second)))
		t := time.NewTimer(o.RunTime)
		defer t.Stop()
		runTime = t.C
	} else if o.Headless && !c.shape {
		c.log.Info("No run time limit set, use CTRL+C to interrupt")
	}
	for {
		select {
		case <-ctx.Done():
			c.log.Info("Got SIGTERM signal")
			return -1
		case <-c.m.Done():
			select {
			case <-shapeEnded: // a headless master quit at the shape's end
				c.log.Info("Shape test completed, shutting down")
			default:
			}
			return -1
		case <-shapeEnded:
			shapeEnded = nil
			if c.stopAndOptionallyQuit(ctx, "Shape test completed") {
				return -1
			}
		case <-runTime:
			runTime = nil
			if c.stopAndOptionallyQuit(ctx, "--run-time limit reached") {
				return -1
			}
		case <-aborted:
			aborted, runTime, shapeEnded = nil, nil, nil
			if c.stopAndOptionallyQuit(ctx, "A threshold failed (abort_on_fail)") {
				return -1
			}
		}
	}
}

// stopAndOptionallyQuit is Locust's stop_and_optionally_quit, for the end
// of -t or of the shape of a headless or autostart run: an autostart run
// (with the web UI) stops and quits after --autoquit if it was given, a
// headless run quits. It reports whether the run is to quit now.
func (c *control) stopAndOptionallyQuit(ctx context.Context, reason string) bool {
	o := c.opts
	if !o.Autostart || o.Headless {
		c.log.Info(reason + ", shutting down")
		return true
	}
	c.log.Info(reason + ", stopping test")
	_ = c.m.Stop(ctx)
	if o.Autoquit < 0 {
		c.log.Info("--autoquit not specified, leaving web ui running indefinitely")
		return false
	}
	select {
	case <-time.After(o.Autoquit):
		c.log.Info("--autoquit time reached, shutting down")
	case <-ctx.Done():
	}
	return true
}

// waitForWorkers waits for n ready workers as Locust's headless and
// autostart runs do. Where Locust would wait for ever, glocust gives up
// when one of its --processes children exits first: it is not coming.
func (c *control) waitForWorkers(ctx context.Context, n int) error {
	wctx, cancel := context.WithCancel(ctx)
	watched := make(chan struct{})
	go func() {
		defer close(watched)
		select {
		case <-c.childExited:
			cancel()
		case <-wctx.Done():
		}
	}()
	err := c.m.WaitForWorkers(wctx, n, c.opts.ExpectWorkersMaxWait)
	cancel()
	<-watched
	if errors.Is(err, context.Canceled) && ctx.Err() == nil {
		c.log.Error(fmt.Sprintf("A worker process exited before all %d were ready", n))
	}
	return err
}

// outputs writes the console table, CSV files, HTML and JSON. As in
// Locust, only the --json report goes to stdout: the console tables are
// log output (Locust's locust.stats_logger writes them to stderr, even
// with --logfile), so "--headless --json | jq" reads the JSON alone.
type outputs struct {
	opts   *config.Options
	log    *slog.Logger
	stdout io.Writer // --json
	tables io.Writer // the console tables: stderr
	csv    *report.CSVFiles
	raw    *uncorrected // with --latency-correction in standalone mode
	// thresholds are the master's (Config.Thresholds), for the exit code.
	thresholds []threshold.Threshold
}

func newOutputs(opts *config.Options, log *slog.Logger, stdout, tables io.Writer) *outputs {
	return &outputs{opts: opts, log: log, stdout: stdout, tables: tables}
}

func (o *outputs) open() error {
	if o.opts.CSVPrefix == "" {
		return nil
	}
	if dir := filepath.Dir(o.opts.CSVPrefix); dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("--csv: %w", err)
		}
	}
	c, err := report.NewCSVFiles(o.opts.CSVPrefix, o.opts.CSVFullHistory)
	if err != nil {
		return fmt.Errorf("--csv: %w", err)
	}
	o.csv = c
	return nil
}

// startPeriodic starts the console printer (every 2 s) and CSV writer
// (every 1 s); the returned function stops them.
func (o *outputs) startPeriodic(m *master.Master) func() {
	done := make(chan struct{})
	var wg sync.WaitGroup
	every := func(d time.Duration, f func()) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			t := time.NewTicker(d)
			defer t.Stop()
			for {
				select {
				case <-done:
					return
				case <-t.C:
					f()
				}
			}
		}()
	}
	if !o.opts.OnlySummary && (o.opts.PrintStats || o.opts.Headless) {
		every(consoleStatsInterval, func() {
			m.Do(func(v *master.View) {
				report.PrintStats(o.tables, v.Stats(), time.Now(), true)
				if info, ok := v.Shape(); ok && info.Started {
					fmt.Fprintln(o.tables, info.Summary())
				}
			})
		})
	}
	if o.csv != nil {
		every(csvStatsInterval, func() { o.writeCSV(m) })
	}
	var once sync.Once
	return func() { once.Do(func() { close(done); wg.Wait() }) }
}

func (o *outputs) writeCSV(m *master.Master) {
	var err error
	m.Do(func(v *master.View) { err = o.writeCSVFiles(v) })
	if err != nil {
		o.log.Error("writing CSV files", "err", err)
	}
}

// writeCSVFiles rewrites Locust's CSV files and, once a run started,
// glocust's PREFIX_runs.csv.
func (o *outputs) writeCSVFiles(v *master.View) error {
	err := o.csv.Write(v.Stats(), v.Exceptions(), time.Now(), v.UserCount())
	if run := v.Run(); run.ID != "" && err == nil {
		err = o.csv.SetRun(report.RunRow{ID: run.ID, Profile: run.Profile, Start: run.Start, End: v.EndTime()})
	}
	return err
}

// finish writes the final outputs and returns the exit code: code if it is
// already decided (>= 0), else threshold.ExitCode when a threshold failed,
// else Locust's rule (--exit-code-on-error after failures or errors,
// unless a failure-ratio threshold judges them, as locust-plugins'
// --check-fail-ratio does).
func (o *outputs) finish(m *master.Master, code int) int {
	opts := o.opts
	hasErrors := false
	var results []threshold.Result
	var summary map[string]any
	var overloads []master.Overload
	var run master.Run
	m.Do(func(v *master.View) {
		hasErrors = v.HasErrors()
		results = v.Thresholds()
		summary = summaryJSON(v, results)
		overloads, run = v.Overloads(), v.Run()
		if opts.HTMLFile != "" {
			o.writeHTML(v)
		}
		if opts.JSON {
			if err := report.JSON(o.stdout, v.Stats()); err != nil {
				o.log.Error("--json", "err", err)
			}
		}
		if opts.JSONFile != "" {
			o.writeJSONFile(v)
		} else {
			now := time.Now()
			report.PrintStats(o.tables, v.Stats(), now, false)
			report.PrintPercentiles(o.tables, v.Stats())
			report.PrintErrors(o.tables, v.Stats())
			o.raw.print(o.tables, now)
		}
		if o.csv != nil {
			if err := o.raw.writeCSV(o.csv.Prefix(), time.Now()); err != nil {
				o.log.Error("writing the uncorrected CSV", "err", err)
			}
		}
		if o.csv != nil {
			if err := o.writeCSVFiles(v); err != nil {
				o.log.Error("writing CSV files", "err", err)
			}
			if err := o.csv.Close(); err != nil {
				o.log.Error("closing CSV files", "err", err)
			}
		}
	})
	printOverloads(o.tables, overloads)
	if run.ID != "" {
		line := "Run " + run.ID + " ended"
		if run.Profile != "" {
			line += " (profile " + run.Profile + ")"
		}
		o.log.Info(line)
	}
	o.verdict(results)
	reason := "other"
	if code < 0 {
		code, reason = 0, "passed"
		switch {
		case threshold.Failed(results):
			code, reason = threshold.ExitCode, "thresholds failed"
		case hasErrors && threshold.JudgesFailures(o.thresholds):
			reason = "passed (failures judged by a fail_ratio threshold)"
		case hasErrors:
			code, reason = opts.ExitCodeOnError, "requests failed or user errors (--exit-code-on-error)"
		}
	}
	if opts.SummaryJSON != "" {
		summary["exit_code"], summary["exit_reason"] = code, reason
		o.writeFile(opts.SummaryJSON, "--summary-json", func(w io.Writer) error {
			enc := json.NewEncoder(w)
			enc.SetIndent("", "  ")
			enc.SetEscapeHTML(false) // "p95 < 500", not "p95 \u003c 500"
			return enc.Encode(summary)
		})
	}
	if opts.ResultsInLog {
		if err := logResults(o.tables, run.ID, o.resultFiles(), maxLoggedResults); err != nil {
			o.log.Error(err.Error())
		}
	}
	o.log.Info(fmt.Sprintf("Shutting down (exit code %d)", code))
	return code
}

// verdict prints the thresholds' table and logs locust-plugins' CHECK
// lines for its checks (failed ones at INFO, passed ones at DEBUG, as
// locust-plugins does) and the verdict.
func (o *outputs) verdict(results []threshold.Result) {
	if len(results) == 0 {
		return
	}
	for _, r := range results {
		if line, ok := r.CheckLine(); ok && r.Pass {
			o.log.Debug(line)
		} else if ok {
			o.log.Info(line)
		}
	}
	report.PrintChecks(o.tables, master.ReportChecks(results))
	failed := 0
	for _, r := range results {
		if !r.Pass {
			failed++
		}
	}
	if failed > 0 {
		o.log.Error(fmt.Sprintf("Thresholds: %d of %d failed", failed, len(results)))
	} else {
		o.log.Info(fmt.Sprintf("Thresholds: all %d passed", len(results)))
	}
}

// summaryJSON is --summary-json's document but for the exit code: the
// thresholds' verdicts, the request totals, the test's times, the shape.
func summaryJSON(v *master.View, results []threshold.Result) map[string]any {
	doc := master.ThresholdsJSON(results)
	tot := v.Stats().Total()
	doc["requests"] = map[string]any{"num_requests": tot.NumRequests, "num_failures": tot.NumFailures,
		"fail_ratio": tot.FailRatio(), "total_rps": tot.TotalRPS(), "avg_response_time": tot.Avg(),
		"exceptions": len(v.Exceptions().List())}
	info := master.RunInfo(v, "")
	doc["start_time"], doc["end_time"] = epochSeconds(info.Start), epochSeconds(info.End)
	doc["run_id"], doc["profile"] = info.RunID, info.Profile
	if sh, ok := v.Shape(); ok {
		doc["shape"] = master.ShapeJSON(sh)
	}
	doc["overloaded_workers"] = v.Overloads()
	return doc
}

// printOverloads ends the console summary with the workers that were
// overloaded during the test, if any: their results say as much about the
// load generator as about the target.
func printOverloads(w io.Writer, ovs []master.Overload) {
	if len(ovs) == 0 {
		return
	}
	fmt.Fprintln(w, "Overloaded workers (the load generator, not only the target, may have limited these results):")
	for i := range ovs {
		fmt.Fprintln(w, " - "+ovs[i].Summary())
	}
	fmt.Fprintln(w)
}

func epochSeconds(t time.Time) float64 { return float64(t.UnixNano()) / 1e9 }

func (o *outputs) writeHTML(v *master.View) {
	o.writeFile(htmlFileName(o.opts), "--html", func(w io.Writer) error {
		return report.HTML(w, v.Stats(), v.Exceptions(), v.History(), master.RunInfo(v, filepath.Base(o.opts.Locustfile)))
	})
}

func (o *outputs) writeJSONFile(v *master.View) {
	name := o.opts.JSONFile
	if !strings.HasSuffix(name, ".json") {
		name += ".json"
	}
	o.writeFile(name, "--json-file", func(w io.Writer) error { return report.JSON(w, v.Stats()) })
}

// writeFile creates name (and its directory) and fills it with write; a
// failure is logged under the option that asked for the file.
func (o *outputs) writeFile(name, option string, write func(io.Writer) error) {
	err := func() error {
		if dir := filepath.Dir(name); dir != "" {
			if err := os.MkdirAll(dir, 0o755); err != nil {
				return err
			}
		}
		f, err := os.Create(name)
		if err != nil {
			return err
		}
		if err := write(f); err != nil {
			f.Close()
			return err
		}
		return f.Close()
	}()
	if err != nil {
		o.log.Error(option, "err", err)
	}
}

// htmlFileName replaces {u}, {r} and {t} as Locust's process_html_filename.
func htmlFileName(o *config.Options) string {
	u, r, t := "None", "None", "None"
	if o.IsSet("users") {
		u = strconv.Itoa(o.Users)
	}
	if o.IsSet("spawn-rate") {
		r = strconv.FormatFloat(o.SpawnRate, 'f', -1, 64)
		if !strings.Contains(r, ".") {
			r += ".0"
		}
	}
	if o.RunTime > 0 {
		t = strconv.FormatInt(int64(o.RunTime/time.Second), 10)
	}
	return strings.NewReplacer("{u}", u, "{r}", r, "{t}", t).Replace(o.HTMLFile)
}
