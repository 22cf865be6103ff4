package app

import (
	_ "embed"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"
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
	if err := fs.Parse(args); err != nil {
		return 1
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
	target, stopTarget, err := startDemoTarget()
	if err != nil {
		fmt.Fprintln(stderr, "glocust demo: target:", err)
		return 1
	}
	defer stopTarget()
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
		// The demo target answers /missing with 404 on purpose: failures are
		// part of the show, not an error of the demo.
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

// startDemoTarget serves a tiny shop on 127.0.0.1.
func startDemoTarget() (string, func(), error) {
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/" {
			http.NotFound(w, r)
			return
		}
		io.WriteString(w, "<html><body>glocust demo shop</body></html>")
	})
	mux.HandleFunc("/items", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"items":[1,2,3]}`)
	})
	mux.HandleFunc("/login", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") })
	mux.HandleFunc("/cart", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, `{"ok":true}`) })
	mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(time.Duration(50+rand.IntN(150)) * time.Millisecond)
		io.WriteString(w, "paid")
	})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(l) }()
	return "http://" + l.Addr().String(), func() { srv.Close() }, nil
}
