package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/glocust/glocust/internal/config"
)

// Variables a --processes parent sets on its children.
const (
	// childEnv marks a process started by --processes; its value is the
	// child's index (0 to N-1). A child never starts children of its own,
	// whatever --processes its command line, environment or locust.conf
	// says, and drops the options Locust's main() clears in a forked child.
	childEnv = "GLOCUST_PROCESS_CHILD"
	// probesEnv is set on the first child of a --worker --processes parent:
	// that child alone serves the worker probes on --web-port (the others
	// would collide on the port).
	probesEnv = "GLOCUST_PROCESS_PROBES"
)

// How a master ends its --processes children, as Locust's kill_workers: the
// master's quit reaches them first and they get childGrace to exit on
// their own, then a signal; glocust kills any still running childKillAfter
// later (Locust waits for ever).
const (
	childGrace     = 3 * time.Second
	childKillAfter = 10 * time.Second
)

// processCount is --processes as a number of processes: -1 is one per CPU
// this process may run on (Locust's os.cpu_count()).
func processCount(n int) int {
	if n == -1 {
		return runtime.NumCPU()
	}
	return n
}

// asChild applies the marker a --processes parent put in env. It reports
// whether this process is such a child and whether it serves the worker
// probes (every process that is not a child may).
func asChild(opts *config.Options, env []string) (child, probes bool) {
	if _, ok := lookupEnv(env, childEnv); !ok {
		return false, true
	}
	// Locust's main() sets these in a forked child: only the parent runs
	// them. The parent handled --processes itself.
	opts.Processes = 0
	opts.RunTime = 0
	opts.Autostart = false
	opts.CSVPrefix = ""
	opts.CSVFullHistory = false
	opts.HTMLFile = ""
	opts.PrintStats = false
	_, probes = lookupEnv(env, probesEnv)
	return true, probes
}

// lookupEnv returns the value of key in env ("KEY=value" entries; the last
// one wins, as in os/exec).
func lookupEnv(env []string, key string) (string, bool) {
	for _, kv := range slices.Backward(env) {
		if v, ok := strings.CutPrefix(kv, key+"="); ok {
			return v, true
		}
	}
	return "", false
}

// masterChildArgs are the arguments of the glocust --worker children of a
// --processes master listening on 127.0.0.1:port.
func masterChildArgs(opts *config.Options, port string) []string {
	args := []string{"--worker", "--master-host", "127.0.0.1", "--master-port", port, "-L", opts.LogLevel}
	if opts.LatencyCorrection {
		args = append(args, "--latency-correction")
	}
	if opts.Locustfile != "" {
		args = append(args, "-f", opts.Locustfile)
	}
	if opts.LogFile != "" {
		args = append(args, "--logfile", opts.LogFile)
	}
	if opts.ResetStats {
		args = append(args, "--reset-stats")
	}
	if opts.IsSet("locust-version") {
		args = append(args, "--locust-version", opts.LocustVersion)
	}
	return append(args, opts.UserClasses...)
}

// masterChildEnv is env without what would make a child of a --processes
// master anything but its worker (its arguments say where the master is).
func masterChildEnv(env []string) []string {
	var out []string
	for _, kv := range env {
		if strings.HasPrefix(kv, "LOCUST_MODE_MASTER=") || strings.HasPrefix(kv, "LOCUST_PROCESSES=") ||
			strings.HasPrefix(kv, "LOCUST_MASTER_NODE_") || strings.HasPrefix(kv, "LOCUST_RUN_TIME=") ||
			strings.HasPrefix(kv, "LOCUST_HTML=") || strings.HasPrefix(kv, "LOCUST_CSV") || strings.HasPrefix(kv, "LOCUST_HEADLESS=") {
			continue
		}
		out = append(out, kv)
	}
	return out
}

// children are the processes --processes started: copies of this
// executable that run as glocust workers. They write to this process's
// stdout and stderr, and get SIGTERM if it dies (on Linux). Their owner
// ends them (stop, or signal and done) and waits for them.
type children struct {
	log      *slog.Logger
	kids     []*child
	wg       sync.WaitGroup
	all      chan struct{} // closed once every child has exited
	first    chan struct{} // closed once any child has exited
	firstOne sync.Once
	stopOnce sync.Once
	stopCode int
}

type child struct {
	cmd  *exec.Cmd
	code int // exit code, -1 if a signal ended it; set before done closes
	done chan struct{}
}

// startChildren starts n copies of this executable with args and env plus
// childEnv; with probes, the first also gets probesEnv. If one cannot
// start, those already started are killed and waited for.
func startChildren(n int, args, env []string, probes bool, log *slog.Logger) (*children, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("--processes: %w", err)
	}
	c := &children{log: log, all: make(chan struct{}), first: make(chan struct{})}
	for i := range n {
		cmd := exec.Command(exe, args...)
		cmd.Env = append(slices.Clip(env), childEnv+"="+strconv.Itoa(i))
		if probes && i == 0 {
			cmd.Env = append(cmd.Env, probesEnv+"=1")
		}
		cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
		cmd.SysProcAttr = childProcAttr()
		if err := cmd.Start(); err != nil {
			c.signal(syscall.SIGKILL)
			c.wg.Wait()
			return nil, fmt.Errorf("--processes: start worker process %d of %d: %w", i+1, n, err)
		}
		log.Debug(fmt.Sprintf("Started child worker with pid #%d", cmd.Process.Pid))
		k := &child{cmd: cmd, done: make(chan struct{})}
		c.kids = append(c.kids, k)
		c.wg.Add(1)
		go c.reap(k)
	}
	go func() { c.wg.Wait(); close(c.all) }()
	return c, nil
}

// reap waits for one child and records how it ended.
func (c *children) reap(k *child) {
	defer c.wg.Done()
	err := k.cmd.Wait()
	k.code = -1
	if k.cmd.ProcessState != nil {
		k.code = k.cmd.ProcessState.ExitCode()
	}
	close(k.done)
	c.firstOne.Do(func() { close(c.first) })
	var exit *exec.ExitError
	switch {
	case err != nil && !errors.As(err, &exit):
		c.log.Error(fmt.Sprintf("Child worker with pid #%d: %v", k.cmd.Process.Pid, err))
	case k.code != 0:
		c.log.Warn(fmt.Sprintf("Child worker with pid #%d exited: %s", k.cmd.Process.Pid, k.cmd.ProcessState))
	default:
		c.log.Debug(fmt.Sprintf("Child worker with pid #%d exited with code 0", k.cmd.Process.Pid))
	}
}

// signal sends sig to every child still running.
func (c *children) signal(sig os.Signal) {
	for _, k := range c.kids {
		select {
		case <-k.done:
		default:
			if err := k.cmd.Process.Signal(sig); err != nil && !errors.Is(err, os.ErrProcessDone) {
				c.log.Debug(fmt.Sprintf("Sending %v to child with pid #%d: %v", sig, k.cmd.Process.Pid, err))
			}
		}
	}
}

// done is closed once every child has exited.
func (c *children) done() <-chan struct{} { return c.all }

// exited is closed once any child has exited.
func (c *children) exited() <-chan struct{} { return c.first }

// exitCode is the highest exit code of the children, at least 0 (one
// ended by a signal counts 0, as in Locust). Call it after done.
func (c *children) exitCode() int {
	code := 0
	for _, k := range c.kids {
		code = max(code, k.code)
	}
	return code
}

// stop ends the children as Locust's kill_workers does and returns
// exitCode: they get childGrace to exit on their own, then SIGTERM, and
// any still running childKillAfter later is killed. It may be called more
// than once.
func (c *children) stop() int {
	c.stopOnce.Do(func() {
		if !c.waitFor(childGrace) {
			c.signal(syscall.SIGTERM)
			if !c.waitFor(childKillAfter) {
				c.signal(syscall.SIGKILL)
				<-c.all
			}
		}
		c.stopCode = c.exitCode()
	})
	return c.stopCode
}

func (c *children) waitFor(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-c.all:
		return true
	case <-t.C:
		return false
	}
}

// runWorkerProcesses is --worker --processes N. As in Locust, this
// process is not a worker itself: it starts N worker processes, each of
// which registers with the master on its own, waits for them and exits
// with the highest of their exit codes. The first SIGTERM or SIGINT (or
// ctx's end) is passed on to every child as SIGTERM, so each sends its
// final stats and quit; a second signal kills them and exits 1. Locust's
// parent ignores the first SIGINT (a terminal sends it to the children
// too) and dies on SIGTERM, leaving its children running; glocust's
// children get SIGTERM when the parent dies, even by SIGKILL (on Linux).
func runWorkerProcesses(ctx context.Context, opts *config.Options, args, env []string, log *slog.Logger) int {
	if _, err := loadClasses(opts, env, false); err != nil {
		log.Error(err.Error()) // once here rather than once per child
		return 1
	}
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
	defer signal.Stop(sigs)
	n := processCount(opts.Processes)
	kids, err := startChildren(n, args, env, opts.IsSet("web-port"), log)
	if err != nil {
		log.Error(err.Error())
		return 1
	}
	log.Info(fmt.Sprintf("Started %d worker processes", n))
	done := ctx.Done()
	for signals := 0; ; {
		select {
		case <-kids.done():
			return kids.exitCode()
		case <-done:
			done = nil
			kids.signal(syscall.SIGTERM)
		case sig := <-sigs:
			if signals++; signals == 1 {
				log.Info(fmt.Sprintf("Got %v, passing SIGTERM on to the worker processes", sig))
				kids.signal(syscall.SIGTERM)
				continue
			}
			log.Info(fmt.Sprintf("Got %v again, killing the worker processes", sig))
			kids.signal(syscall.SIGKILL)
			<-kids.done()
			return 1
		}
	}
}
