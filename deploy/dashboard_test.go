package deploy

import (
	"encoding/json"
	"os"
	"regexp"
	"sort"
	"testing"
)

// TestDashboardMetrics: the Grafana dashboard is valid JSON and queries only
// metrics the master exports (master/metrics.go).
func TestDashboardMetrics(t *testing.T) {
	b, err := os.ReadFile("overlays/servicemonitor/glocust-dashboard.json")
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		UID    string `json:"uid"`
		Panels []struct {
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(b, &dash); err != nil {
		t.Fatal(err)
	}
	src, err := os.ReadFile("../master/metrics.go")
	if err != nil {
		t.Fatal(err)
	}
	exported := map[string]bool{}
	for _, m := range regexp.MustCompile(`NewDesc\("(glocust_[a-z_]+)"`).FindAllStringSubmatch(string(src), -1) {
		for _, suffix := range []string{"", "_bucket", "_sum", "_count"} {
			exported[m[1]+suffix] = true
		}
	}
	if len(exported) == 0 {
		t.Fatal("no metric names found in master/metrics.go")
	}
	used := map[string]bool{}
	for _, p := range dash.Panels {
		if len(p.Targets) == 0 {
			t.Errorf("panel %q has no query", p.Title)
		}
		for _, tg := range p.Targets {
			for _, name := range regexp.MustCompile(`glocust_[a-z_]+`).FindAllString(tg.Expr, -1) {
				used[name] = true
			}
		}
	}
	var unknown []string
	for name := range used {
		if !exported[name] {
			unknown = append(unknown, name)
		}
	}
	sort.Strings(unknown)
	if len(unknown) > 0 {
		t.Errorf("the dashboard queries metrics the master does not export: %v", unknown)
	}
	if !bytesContain(b, "glocust_master_info") {
		t.Error("the dashboard's namespace variable should come from glocust_master_info")
	}
}

func bytesContain(b []byte, s string) bool { return regexp.MustCompile(regexp.QuoteMeta(s)).Match(b) }
