package app

import (
	"context"
	_ "embed"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"

	"github.com/glocust/glocust/internal/demotarget"
)

//go:embed demo_scenario.yaml
var demoScenario []byte

// demo runs "glocust demo": an embedded target server, a glocust master and
// two glocust workers talking ZeroMQ over 127.0.0.1, a short ramp, the live
// table, the summary and glocust-demo-report.html. It returns the exit code.
func demo(args, env []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("glocust demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	users := fs.Int("u", 20, "users")
	rate := fs.Float64("r", 10, "spawn rate (users/s)")
	runTime := fs.String("t", "15s", "run time")
	workers := fs.Int("workers", 2, "glocust workers")
	html := fs.String("html", "glocust-demo-report.html", "HTML report file")
	serve := fs.String("serve", "", "only serve the demo shop on this address (e.g. 127.0.0.1:8080) until interrupted, for examples/scenarios")
	tokenUses := fs.Int("token-uses", 0, "the shop's tokens expire after this many requests (0: never)")
	tokenTTL := fs.Duration("token-ttl", 0, "the shop's tokens expire after this time (0: never)")
	if err := fs.Parse(args); err != nil {
		return 1
	}
	cfg := demotarget.Config{TokenUses: *tokenUses, TokenTTL: *tokenTTL}
	if *serve != "" {
		return serveDemoTarget(*serve, cfg, stdout, stderr)
	}
	dir, err := os.MkdirTemp("", "glocust-demo-")
	if err != nil {
		fmt.Fprintln(stderr, "glocust demo:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	scenarioFile := filepath.Join(dir, "demo.yaml")
	if err := os.WriteFile(scenarioFile, demoScenario, 0o644); err != nil {
		fmt.Fprintln(stderr, "glocust demo:", err)
		return 1
	}
	shop, err := demotarget.Start("127.0.0.1:0", cfg)
	if err != nil {
		fmt.Fprintln(stderr, "glocust demo: target:", err)
		return 1
	}
	defer shop.Close()
	target := shop.URL
	port, err := freePort()
	if err != nil {
		fmt.Fprintln(stderr, "glocust demo:", err)
		return 1
	}
	webPort, err := freePort()
	if err != nil {
		fmt.Fprintln(stderr, "glocust demo:", err)
		return 1
	}
	fmt.Fprintf(stdout, "glocust demo: target %s, master tcp://127.0.0.1:%d, %d workers, %d users at %g/s for %s; metrics on http://127.0.0.1:%d/metrics\n",
		target, port, *workers, *users, *rate, *runTime, webPort)
	var wg sync.WaitGroup
	for i := 0; i < *workers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			run([]string{"--worker", "-f", scenarioFile, "--master-host", "127.0.0.1", "--master-port", strconv.Itoa(port), "-L", "WARNING"},
				env, io.Discard, stderr)
		}()
	}
	code := run([]string{"--master", "--headless", "-f", scenarioFile, "-H", target,
		"-u", strconv.Itoa(*users), "-r", strconv.FormatFloat(*rate, 'g', -1, 64), "-t", *runTime,
		"--expect-workers", strconv.Itoa(*workers), "--expect-workers-max-wait", "30",
		"--master-bind-host", "127.0.0.1", "--master-bind-port", strconv.Itoa(port),
		"--web-host", "127.0.0.1", "--web-port", strconv.Itoa(webPort), "--html", *html,
		// The demo scenario asks for /missing, which is a 404, on purpose:
		// failures are part of the show, not an error of the demo.
		"--exit-code-on-error", "0"}, env, stdout, stderr)
	wg.Wait() // the master's quit ends the workers
	fmt.Fprintf(stdout, "glocust demo: report written to %s\n", *html)
	return code
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// serveDemoTarget serves the demo shop on addr until SIGINT or SIGTERM.
func serveDemoTarget(addr string, cfg demotarget.Config, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	shop, err := demotarget.Start(addr, cfg)
	if err != nil {
		fmt.Fprintln(stderr, "glocust demo:", err)
		return 1
	}
	defer shop.Close()
	fmt.Fprintf(stdout, "glocust demo: the demo shop serves on %s (counts on %s/_stats); Ctrl-C stops it\n", shop.URL, shop.URL)
	<-ctx.Done()
	return 0
}
