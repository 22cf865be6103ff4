package interop

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/glocust/glocust/internal/testenv"
)

// TestStdoutLikeLocust: a headless run writes to stdout what Locust 2.47
// writes there and nothing else: the --json report alone (it parses with
// encoding/json, so "glocust ... --headless --json | python3 -m json.tool"
// works), or nothing; the console tables and the logs go to stderr. Each
// case runs real Locust and glocust with the same options and expects the
// same of both.
func TestStdoutLikeLocust(t *testing.T) {
	t.Parallel()
	c := newCluster(t)
	for _, tc := range []struct {
		name   string
		args   []string
		json   bool // stdout is the JSON report, else empty
		tables bool // stderr has the final table
		file   bool // --json-file report.json
	}{
		{name: "json", args: []string{"--json"}, json: true, tables: true},
		{name: "plain", tables: true},
		{name: "print-stats and csv", args: []string{"--print-stats", "--csv", "run"}, tables: true},
		// Not with --json too: Locust's --json empties its stats
		// (get_stripped_report), so its --json-file then holds [].
		{name: "only-summary and json-file", args: []string{"--only-summary", "--json-file", "report"}, file: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			type run struct {
				p   *testenv.Process
				dir string
			}
			var runs []run
			for _, prog := range []struct{ path, scenario string }{
				{c.locust, "locustfile.py"}, {c.glocust, "scenario.yaml"},
			} {
				dir := t.TempDir()
				args := append([]string{"-f", testdata(t, prog.scenario), "--headless", "-u", "3", "-r", "3", "-t", "2s",
					"-H", c.target.URL, "--exit-code-on-error", "0", "--web-port", strconv.Itoa(testenv.FreePort(t))}, tc.args...)
				runs = append(runs, run{testenv.Start(t, testenv.Command{Path: prog.path, Dir: dir, Args: args, SeparateStdout: true}), dir})
			}
			for _, r := range runs {
				mustExit(t, r.p, 60*time.Second, 0)
				if err := checkStreams(r.p, tc.json, tc.tables); err != nil {
					t.Errorf("%s %s: %v", r.p.Name, strings.Join(tc.args, " "), err)
				}
				if !tc.file {
					continue
				}
				b, err := os.ReadFile(filepath.Join(r.dir, "report.json"))
				if err != nil {
					t.Errorf("%s: %v", r.p.Name, err)
				} else if err := checkJSONReport(b); err != nil {
					t.Errorf("%s: report.json: %v", r.p.Name, err)
				}
			}
		})
	}
}

// checkStreams checks what a finished headless run wrote: stdout is the
// --json report (json) or empty; stderr has the final console table
// (tables) or not, and the logs.
func checkStreams(p *testenv.Process, json, tables bool) error {
	stdout, err := p.Stdout()
	if err != nil {
		return err
	}
	if json {
		if err := checkJSONReport(stdout); err != nil {
			return fmt.Errorf("stdout: %w", err)
		}
	} else if len(stdout) != 0 {
		return fmt.Errorf("stdout is not empty:\n%s", stdout)
	}
	stderr, err := p.Output()
	if err != nil {
		return err
	}
	if !strings.Contains(stderr, "Shutting down (exit code 0)") {
		return fmt.Errorf("no shutdown log line on stderr:\n%s", stderr)
	}
	if has := strings.Contains(stderr, "Aggregated"); has != tables {
		return fmt.Errorf("a console table on stderr: %v, want %v:\n%s", has, tables, stderr)
	}
	return nil
}
