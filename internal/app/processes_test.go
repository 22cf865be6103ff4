package app

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/glocust/glocust/internal/config"
	"github.com/glocust/glocust/internal/logging"
	"github.com/glocust/glocust/master"
	"github.com/glocust/glocust/protocol/zmq"
)

// TestAsChild: the marker a --processes parent sets makes a process a
// child that never starts children of its own, whatever its options say,
// and drops what Locust's forked children drop; only the marked child
// serves the worker probes.
func TestAsChild(t *testing.T) {
	t.Parallel()
	args := []string{"--worker", "-t", "10s", "--csv", "out", "--csv-full-history", "--html", "r.html", "--print-stats", "--autostart"}
	for _, c := range []struct {
		env           []string
		child, probes bool
		processes     int
	}{
		{env: []string{"LOCUST_PROCESSES=3"}, child: false, probes: true, processes: 3},
		{env: []string{"LOCUST_PROCESSES=3", childEnv + "=0", probesEnv + "=1"}, child: true, probes: true},
		{env: []string{"LOCUST_PROCESSES=-1", childEnv + "=2"}, child: true, probes: false},
	} {
		opts, err := config.Parse(args, c.env)
		if err != nil {
			t.Fatalf("%v: %v", c.env, err)
		}
		child, probes := asChild(opts, c.env)
		if child != c.child || probes != c.probes || opts.Processes != c.processes {
			t.Errorf("%v: child %v probes %v processes %d; want %v %v %d", c.env, child, probes, opts.Processes, c.child, c.probes, c.processes)
		}
		cleared := opts.RunTime == 0 && opts.CSVPrefix == "" && !opts.CSVFullHistory && opts.HTMLFile == "" && !opts.PrintStats && !opts.Autostart
		if cleared != c.child {
			t.Errorf("%v: parent-only options cleared: %v, want %v (%+v)", c.env, cleared, c.child, opts)
		}
	}
}

// TestChildExitEndsWait: a headless master waiting for its --processes
// children gives up, with exit code 1, as soon as one of them has exited
// (Locust would wait for ever for a worker that is not coming).
func TestChildExitEndsWait(t *testing.T) {
	t.Parallel()
	var logs lockedBuffer
	log := logging.New(&logs, slog.LevelInfo, "glocust.master")
	m := master.New(zmq.NewInprocRouter(), master.Config{Logger: log, Classes: []master.UserClass{{Name: "U", Weight: 1}}})
	runErr := make(chan error, 1)
	go func() { runErr <- m.Run(context.Background()) }()
	opts, err := config.Parse([]string{"--headless", "--processes", "2"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	opts.ExpectWorkers = 2
	exited := make(chan struct{})
	close(exited)
	done := make(chan int, 1)
	go func() {
		done <- (&control{m: m, opts: opts, log: log, childExited: exited}).run(context.Background(), false)
	}()
	select {
	case code := <-done:
		if code != 1 {
			t.Errorf("exit code %d, want 1", code)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the master still waits for workers after a child exited")
	}
	m.Quit()
	if err := <-runErr; err != nil && !errors.Is(err, context.Canceled) {
		t.Fatalf("master Run: %v", err)
	}
	if !strings.Contains(logs.String(), "A worker process exited before all 2 were ready") {
		t.Errorf("log:\n%s", logs.String())
	}
}
