package interop

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/glocust/glocust/internal/testenv"
)

// TestProcesses: --processes 2 forks two glocust workers under this
// process's master, as Locust's --processes does; counts match the target.
func TestProcesses(t *testing.T) {
	t.Parallel()
	c := newCluster(t)
	csv := filepath.Join(c.dir, "procs")
	p := testenv.Start(t, testenv.Command{Path: c.glocust, Dir: c.dir, Args: []string{
		"-f", testdata(t, "scenario.yaml"), "--processes", "2", "--headless", "-u", "8", "-r", "8", "-t", "6s",
		"--csv", csv, "--exit-code-on-error", "0", "-H", c.target.URL,
		"--master-bind-host", "127.0.0.1", "--master-bind-port", "0"}})
	mustExit(t, p, 60*time.Second, 0)
	if out := p.MustOutput(t); !strings.Contains(out, "2 workers connected") {
		t.Errorf("the master did not see two forked workers:\n%s", out)
	}
	checkCountsMatchTarget(t, csv+"_stats.csv", c.target)
}
