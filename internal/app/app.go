// Package app is the glocust application behind glocust.Main: it parses
// the configuration (internal/config), then runs a worker, a master, or a
// standalone run (a master with one in-process worker), with the console,
// CSV, HTML and JSON outputs and the web server; "glocust demo" starts a
// target, a master and two workers on 127.0.0.1; "glocust check" and
// "glocust locustfile" check a scenario and write its Python locustfile.
//
// The master and worker packages never import each other; this package is
// where they meet. Goroutines started here (outputs, web server, children
// of --processes, the in-process worker) end before Main returns.
package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/glocust/glocust/internal/config"
	"github.com/glocust/glocust/internal/logging"
	"github.com/glocust/glocust/internal/otelexport"
	"github.com/glocust/glocust/scenario"
	"github.com/glocust/glocust/shape"
	"github.com/glocust/glocust/stats"
	"github.com/glocust/glocust/threshold"
	"github.com/glocust/glocust/worker"
)

// Main runs glocust with command-line args (without the program name) and
// the environment env ("KEY=value"), writing to stdout and stderr, and
// returns the exit code. "demo" as the first argument runs the demo,
// "check" checks a scenario and "locustfile" writes its Python locustfile
// (internal/scenariotool), "debug" the debug run (debug.go).
func Main(args, env []string, stdout, stderr io.Writer) int {
	if len(args) > 0 {
		switch args[0] {
		case "demo":
			return demo(args[1:], env, stdout, stderr)
		case "check":
			return checkCmd(args[1:], env, stdout, stderr)
		case "locustfile":
			return locustfileCmd(args[1:], env, stdout, stderr)
		}
	}
	if len(args) > 0 && args[0] == "debug" {
		return debugCmd(args[1:], env, stdout, stderr) // debug.go
	}
	return run(args, env, stdout, stderr)
}

func run(args, env []string, stdout, stderr io.Writer) int {
	opts, err := config.Parse(args, env)
	if err != nil {
		// Locust's exit code for the same mistake: 2 for usage errors
		// (argparse's: bad flags, values, config files), 1 for the checks
		// Locust makes after parsing, 255 for --master with --worker.
		fmt.Fprintf(stderr, "glocust: error: %v\n", err)
		return config.ExitCode(err)
	}
	if opts.Help {
		config.Usage(stdout)
		return 0
	}
	if opts.ShowVersion {
		config.WriteVersion(stdout)
		return 0
	}
	_, probes := asChild(opts, env)
	logOut := stderr
	if opts.LogFile != "" {
		f, err := os.OpenFile(opts.LogFile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			fmt.Fprintf(stderr, "glocust: error: --logfile: %v\n", err)
			return 1
		}
		defer f.Close()
		logOut = f
	}
	level, err := logging.ParseLevel(opts.LogLevel)
	if err != nil {
		fmt.Fprintf(stderr, "glocust: error: --loglevel: %v\n", err)
		return 1
	}
	// The last lines also go to a ring: workers send them to the master
	// (Locust's "logs" message) and the master serves them on /logs.
	logs := &logging.Ring{}
	log := logging.New(io.MultiWriter(logOut, logs), level, "glocust."+opts.Mode().String())
	for _, w := range opts.Warnings {
		log.Warn(w)
	}

	if opts.List {
		return listClasses(opts, log, stdout)
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()

	switch {
	case opts.Mode() == config.ModeWorker && opts.Processes != 0:
		return runWorkerProcesses(ctx, opts, args, env, log)
	case opts.Mode() == config.ModeWorker:
		return runWorker(ctx, opts, env, log, logs, probes, stderr)
	default:
		return runMaster(ctx, opts, env, log, logs, stdout, stderr)
	}
}

// listClasses is -l/--list: the user classes, as Locust prints them.
func listClasses(opts *config.Options, log *slog.Logger, stdout io.Writer) int {
	l, err := loadClasses(opts, nil, true)
	if err != nil {
		log.Error(err.Error())
		return 1
	}
	fmt.Fprintln(stdout, "Available Users:")
	for _, c := range l.classes {
		fmt.Fprintln(stdout, "    "+c.Name)
	}
	return 0
}

// loaded is what the scenario files (-f) and the registered Go code give a
// run.
type loaded struct {
	classes []*scenario.Class
	host    string
	// shape is the scenario's load shape and shapeFile the file that has
	// it (nil and "" without one): the master's, workers ignore it.
	shape     *shape.Shape
	shapeFile string
	shapeErr  error // scenario.Scenario.ShapeErr: only the master fails on it
	// thresholds are the files' thresholds, in file order (the master's).
	thresholds []threshold.Threshold
	// vars are the files' top-level vars, in file order.
	vars []scenario.Var
}

// loadClasses reads the scenario (-f) and adds Go classes registered with
// scenario.Register; positional user class names restrict the set. At most
// one of the files may have a load shape. env is what the scenario's
// ${env.NAME} read. A master (forMaster) never runs the classes: it reads
// no data files (each worker reads its own copy). Every --var must name a
// variable of a class.
func loadClasses(opts *config.Options, env []string, forMaster bool) (*loaded, error) {
	var classes []*scenario.Class
	host := ""
	l := &loaded{}
	files := opts.Locustfiles()
	if !opts.IsSet("locustfile") {
		// Locust's default is ./locustfile.py; glocust's is a YAML scenario
		// next to it, if there is one, else only the registered Go classes.
		files = nil
		for _, f := range []string{"scenario.yaml", "locustfile.yaml"} {
			if _, err := os.Stat(f); err == nil {
				files = []string{f}
				break
			}
		}
	}
	for _, f := range files {
		switch {
		case f == "-":
			return nil, errors.New("-f - (download the locustfile from the master) is not supported: give glocust its YAML scenario")
		case strings.HasSuffix(f, ".py"):
			return nil, fmt.Errorf("%s: glocust cannot run Python; give it the YAML scenario whose user classes match the locustfile (-f scenario.yaml)", f)
		}
		popts := []scenario.ParseOption{scenario.WithEnv(env), scenario.ReservedVars(locustOptionNames()...)}
		if forMaster {
			popts = append(popts, scenario.ForMaster())
		}
		sc, err := scenario.Load(f, popts...)
		if err != nil {
			return nil, err
		}
		l.thresholds = append(l.thresholds, sc.Thresholds...)
		l.vars = append(l.vars, sc.Vars...)
		if sc.Shape != nil || sc.ShapeErr != nil {
			if l.shapeFile != "" {
				return nil, fmt.Errorf("%s and %s both have a load shape: give it in one file", l.shapeFile, f)
			}
			l.shape, l.shapeErr, l.shapeFile = sc.Shape, sc.ShapeErr, f
		}
		if host == "" {
			host = sc.Host
		}
		if sc.LatencyCorrection {
			opts.LatencyCorrection = true
		}
		if sc.MaxRequestNames > 0 && !opts.IsSet("max-request-names") {
			opts.MaxRequestNames = sc.MaxRequestNames
		}
		classes = append(classes, sc.Classes...)
	}
	classes = append(classes, scenario.Registered()...)
	if len(classes) == 0 {
		return nil, errors.New("no user classes: give a scenario with -f scenario.yaml (or LOCUST_LOCUSTFILE), or register Go classes")
	}
	seen := map[string]bool{}
	for _, c := range classes {
		if seen[c.Name] {
			return nil, fmt.Errorf("user class %q is defined twice", c.Name)
		}
		seen[c.Name] = true
	}
	if len(opts.UserClasses) > 0 {
		var picked []*scenario.Class
		for _, name := range opts.UserClasses {
			if !seen[name] {
				return nil, fmt.Errorf("unknown user class %q", name)
			}
			for _, c := range classes {
				if c.Name == name {
					picked = append(picked, c)
				}
			}
		}
		classes = picked
	}
	if opts.Host != "" {
		host = opts.Host
	}
	varsFromEnv(opts, env, classes)
	if err := checkVars(opts.Vars, classes); err != nil {
		return nil, err
	}
	l.classes, l.host = classes, host
	return l, nil
}

// varsFromEnv reads each declared variable from LOCUST_<NAME> (page_size:
// LOCUST_PAGE_SIZE), the variable a Locust custom argument is usually
// declared with: it wins over GLOCUST_VAR and locust.conf, and a --var on
// the command line wins over it.
func varsFromEnv(opts *config.Options, env []string, classes []*scenario.Class) {
	fromCmdline := opts.Source("var") == config.SourceCommandLine
	for _, c := range classes {
		for name := range c.Vars {
			if _, set := opts.Vars[name]; set && fromCmdline {
				continue
			}
			for _, kv := range env {
				if v, ok := strings.CutPrefix(kv, "LOCUST_"+strings.ToUpper(name)+"="); ok {
					if opts.Vars == nil {
						opts.Vars = map[string]string{}
					}
					opts.Vars[name] = v
				}
			}
		}
	}
}

// checkVars reports a --var that no class declares.
func checkVars(vars map[string]string, classes []*scenario.Class) error {
	declared := map[string]bool{}
	for _, c := range classes {
		for k := range c.Vars {
			declared[k] = true
		}
	}
	for _, k := range slices.Sorted(maps.Keys(vars)) {
		if !declared[k] {
			return fmt.Errorf("--var %s: the scenario declares no variable %s (declared: %s)", k, k,
				strings.Join(slices.Sorted(maps.Keys(declared)), ", "))
		}
	}
	return nil
}

// locustOptionNames are the keys of Locust's parsed_options, which a
// scenario variable must not be named as: the master's value for the
// option would be taken for it.
func locustOptionNames() []string {
	var out []string
	for _, k := range parsedOptions(&config.Options{}).Keys {
		if s, ok := k.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

// The runner takes its place in the cluster and the master's options from
// the worker.
var (
	_ worker.Placer        = (*scenario.Runner)(nil)
	_ worker.MasterOptions = (*scenario.Runner)(nil)
)

// runWorker runs one worker. With probes and --web-port it serves the
// worker probes; the uncorrected table of --latency-correction goes to
// tables.
func runWorker(ctx context.Context, opts *config.Options, env []string, log *slog.Logger, logs *logging.Ring, probes bool, tables io.Writer) int {
	l, err := loadClasses(opts, env, false)
	if err != nil {
		log.Error(err.Error())
		return 1
	}
	raw := newUncorrected(opts, log)
	setup := workerSetup{opts: opts, classes: l.classes, host: l.host, env: env, raw: raw, log: log}
	runner, w := setup.newWorker(opts.MasterHost, opts.MasterPort,
		worker.WithLocustVersion(opts.LocustVersion),
		worker.WithTags(opts.Tags, opts.ExcludeTags),
		worker.WithLogs(logs.Lines, 0),
		worker.WithWaitAfterStop(opts.WorkerWaitBeforeReady),
	)
	defer runner.Close()
	if opts.ResultsInLog {
		log.Warn("--results-in-log: a worker writes no result files; the master's log carries them")
	}
	exp, err := newOTel(opts, env, log, tables)
	if err != nil {
		log.Error(err.Error())
		return 1
	}
	if exp != nil {
		log.Info("OpenTelemetry enabled (" + strings.Join(exp.Exporters(), ", ") + "): this worker exports its own load " +
			"(CPU, memory, cgroup throttling); the master exports the requests")
	}
	stopOTel := runOTel(exp, otelexport.WorkerSource(w, time.Now()))
	defer stopOTel()
	if probes && opts.IsSet("web-port") {
		// The worker's probes (glocust's addition). A port that cannot be
		// bound is not fatal: the worker still serves its master, and a
		// failing probe says what is wrong.
		ln, err := net.Listen("tcp", webAddr(opts))
		if err != nil {
			log.Warn(fmt.Sprintf("worker health endpoint: %v", err))
		} else {
			log.Info("worker health endpoint", "addr", ln.Addr().String())
			stopHealth := w.ServeHealth(ln)
			defer stopHealth()
		}
	}
	err = w.Run(ctx)
	stopOTel()
	if raw != nil {
		now := time.Now()
		raw.print(tables, now)
		if err := raw.writeCSV(opts.CSVPrefix, now); err != nil {
			log.Error("writing the uncorrected CSV", "err", err)
		}
	}
	if err != nil {
		log.Error("worker stopped", "err", err)
		return 1
	}
	return 0
}

// workerSetup is what glocust's two workers are built from: a --worker
// process (runWorker) and standalone mode's in-process worker
// (runInprocWorker). They differ in the master's address and in options.
type workerSetup struct {
	opts    *config.Options
	classes []*scenario.Class
	host    string       // the target host
	env     []string     // the process environment, for user classes that read it (http.trust_env)
	raw     *uncorrected // the uncorrected latencies; nil without --latency-correction
	log     *slog.Logger
}

// newWorker builds a stats registry, a user runner (exceptions go to the
// master; latencies are corrected when s.raw is not nil) and a worker
// serving them for the master at masterHost:masterPort. The worker logs to
// s.log and resets its stats with --reset-stats; options, applied after,
// may replace either. The caller closes the runner once the worker's Run
// returned.
func (s workerSetup) newWorker(masterHost string, masterPort int, options ...worker.Option) (*scenario.Runner, *worker.Worker) {
	reg := stats.NewRegistry(stats.WithLogger(s.log), stats.WithMaxNames(s.opts.MaxRequestNames))
	var w *worker.Worker
	ropts := append([]scenario.RunnerOption{
		scenario.WithHost(s.host),
		scenario.WithEnvironment(s.env),
		scenario.WithVars(s.opts.Vars),
		scenario.WithLogger(s.log),
		scenario.WithExceptionHandler(func(msg, tb string) { w.ReportException(msg, tb) }),
	}, s.raw.runnerOptions()...)
	if s.opts.IsSet("seed") {
		ropts = append(ropts, scenario.WithSeed(s.opts.Seed))
	}
	runner := scenario.NewRunner(s.classes,
		scenario.StatsFunc(func(m, n string) scenario.EntryRecorder { return reg.Entry(m, n) }),
		ropts...,
	)
	w = worker.New(masterHost, masterPort, runner, reg, append([]worker.Option{
		worker.WithLogger(s.log),
		worker.WithResetStatsOnSpawningComplete(s.opts.ResetStats),
	}, options...)...)
	return runner, w
}
