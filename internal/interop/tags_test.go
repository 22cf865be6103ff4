package interop

import (
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestTagsFromLocustMaster runs a Python master with -E landing over one
// glocust and one Python worker: both take the exclusion from the spawn's
// parsed_options, so the landing-tagged "home" task never runs while the
// other tasks do, and the master's counts equal what the target received.
func TestTagsFromLocustMaster(t *testing.T) {
	t.Parallel()
	c := newCluster(t)
	csv := filepath.Join(c.dir, "run")
	m := c.master("--headless", "--expect-workers", "2", "-u", "8", "-r", "8", "-t", "6s",
		"-s", pythonStopTimeout, "--csv", csv, "--exit-code-on-error", "0", "-E", "landing")
	g := c.glocustWorker()
	p := c.pythonWorker()
	mustExit(t, m, 60*time.Second, 0)
	mustExit(t, g, 15*time.Second, 0)
	mustExit(t, p, 15*time.Second, 0)
	cleanMasterLog(t, m)
	if n := c.target.Count("GET /"); n != 0 {
		t.Errorf("the excluded task ran: target received %d GET /", n)
	}
	got := csvCounts(t, csv+"_stats.csv")
	if _, ok := got["home"]; ok {
		t.Errorf("the master has a row for the excluded task: %v", got["home"])
	}
	for name, n := range targetByName(c.target) {
		if name == "home" {
			continue
		}
		if n == 0 || got[name][0] != n {
			t.Errorf("%s: master counted %d, target received %d (want equal and > 0)", name, got[name][0], n)
		}
	}
	if out := g.MustOutput(t); !strings.Contains(out, "filtering tasks by tags") {
		t.Errorf("the glocust worker did not log its tag filter:\n%s", out)
	}
}
